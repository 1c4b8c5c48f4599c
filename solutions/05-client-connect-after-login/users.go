package login

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Register refuses with one of these; Authenticate answers every refusal
// with ErrBadCredentials. The messages are written for the person at the
// login form: the routes send them back as they are.
var (
	// ErrUserExists: the name is taken.
	ErrUserExists = errors.New("that name is already taken")
	// ErrBadCredentials: no user has this name, or the password is wrong.
	// One error for both, on purpose: see Authenticate.
	ErrBadCredentials = errors.New("wrong name or password")
	// ErrBadUsername: a name is 3 to 32 characters of a-z, 0-9, _ and -.
	ErrBadUsername = errors.New("a name is 3 to 32 characters of a-z, 0-9, _ and -")
	// ErrWeakPassword: a password is 8 to 72 bytes long.
	ErrWeakPassword = errors.New("a password is 8 to 72 bytes long")
)

// Name and password limits. MaxPassword is bcrypt's, not a choice: see
// Users.Register.
const (
	MinName     = 3
	MaxName     = 32
	MinPassword = 8
	MaxPassword = 72
)

// User is a registered user as the API shows it. The password hash never
// leaves Users.
type User struct {
	ID      int64     `json:"id"`
	Name    string    `json:"name"`
	Created time.Time `json:"created"` // UTC, millisecond precision
}

// Users is the users table: names and bcrypt hashes of their passwords, in
// the app's SQLite database (modernc.org/sqlite, driver name "sqlite").
//
// # Why bcrypt
//
// A password table leaks sooner or later: a backup, an SQL injection, a
// disk sold with the server. What is stored must then be useless for
// logging in, here and — since people reuse passwords — everywhere else. A
// plain hash (SHA-256) is not enough: a graphics card tries billions of
// guesses a second against it, and most passwords fall to a dictionary.
// bcrypt is built to be slow, and its cost parameter says how slow: every
// step up doubles the work, so the hash can keep pace with faster
// hardware. Each hash carries its own random salt, so two users with the
// same password get different hashes and one guess tests one user, not the
// whole table. The hash is self-describing text —
// "$2a$10$<22 characters of salt><31 of hash>": version, cost, salt, hash —
// so a row hashed at an older cost still verifies after Cost is raised.
//
// A Users is safe for concurrent use.
type Users struct {
	// Cost is the bcrypt cost of new hashes: each step doubles the time of
	// a hash and of a check. Zero means bcrypt.DefaultCost (10); a value
	// below bcrypt.MinCost counts as MinCost.
	// Tests set MinCost to stay fast; nothing else should lower it. Set it
	// before the first call.
	Cost int

	db *sql.DB

	mu         sync.Mutex
	dummyCost  int
	dummyHash  []byte
	dummyBuilt bool
}

// NewUsers returns the users table of db, creating it if it is missing:
//
//	CREATE TABLE users (
//		id            INTEGER PRIMARY KEY,
//		name          TEXT NOT NULL UNIQUE,
//		password_hash TEXT NOT NULL,      -- bcrypt, never the password
//		created       INTEGER NOT NULL    -- Unix milliseconds, UTC
//	)
func NewUsers(db *sql.DB) (*Users, error) {
	if db == nil {
		return nil, errors.New("login: NewUsers: nil *sql.DB")
	}
	_, err := db.Exec(`CREATE TABLE IF NOT EXISTS users (
		id            INTEGER PRIMARY KEY,
		name          TEXT NOT NULL UNIQUE,
		password_hash TEXT NOT NULL,
		created       INTEGER NOT NULL
	)`)
	if err != nil {
		return nil, fmt.Errorf("login: creating the users table: %w", err)
	}
	return &Users{db: db}, nil
}

// validName reports whether name is a name Register accepts.
func validName(name string) bool {
	if len(name) < MinName || len(name) > MaxName {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Register adds a user with a bcrypt hash of password and returns it.
//
// The name must be 3 to 32 characters, each one of a-z, 0-9, _ and -
// (else ErrBadUsername). Upper case is refused rather than folded, so that
// "Ana" and "ana" can never be two users, nor one user shown a name other
// than the one typed. The password must be 8 to 72 bytes (else
// ErrWeakPassword), and the name free (else ErrUserExists).
//
// Why 72 bytes: bcrypt feeds the password into Blowfish's key schedule,
// which takes at most 72 bytes; whatever follows is ignored. Many
// libraries truncate silently, so that a 100-byte passphrase is only as
// good as its first 72 bytes, and any password sharing those would log in.
// Refusing a longer password says so instead (golang.org/x/crypto/bcrypt
// refuses it too, with bcrypt.ErrPasswordTooLong). The limit is in bytes,
// not characters: "é" is two bytes in UTF-8.
//
// The hash is computed before the name is known to be free, so a
// duplicate costs the same time as a success; the UNIQUE constraint, not a
// SELECT before the INSERT, decides, so that two concurrent registrations
// of one name cannot both succeed.
func (u *Users) Register(ctx context.Context, name, password string) (User, error) {
	if !validName(name) {
		return User{}, ErrBadUsername
	}
	if len(password) < MinPassword || len(password) > MaxPassword {
		return User{}, ErrWeakPassword
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), u.cost())
	if err != nil {
		return User{}, fmt.Errorf("login: hashing the password: %w", err)
	}
	created := time.Now().UTC().Truncate(time.Millisecond)
	res, err := u.db.ExecContext(ctx,
		`INSERT INTO users (name, password_hash, created) VALUES (?, ?, ?)
		 ON CONFLICT (name) DO NOTHING`,
		name, string(hash), created.UnixMilli())
	if err != nil {
		return User{}, fmt.Errorf("login: saving user %q: %w", name, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return User{}, fmt.Errorf("login: saving user %q: %w", name, err)
	} else if n == 0 {
		return User{}, ErrUserExists
	}
	id, err := res.LastInsertId()
	if err != nil {
		return User{}, fmt.Errorf("login: saving user %q: %w", name, err)
	}
	return User{ID: id, Name: name, Created: created}, nil
}

// Authenticate returns the user whose name and password these are, or
// ErrBadCredentials.
//
// An unknown name and a wrong password get the same error and take the
// same time. If they did not, the login form would tell anyone which names
// have accounts — by its words, or by its speed: a wrong password costs a
// bcrypt check (tens of milliseconds), an unknown name only a database
// lookup (microseconds), a difference a script sees at once. So for an
// unknown name Authenticate checks the password against a dummy hash of
// the same cost, and throws the answer away.
//
// A password over 72 bytes is refused the same way (after the same check):
// bcrypt would compare only its first 72 bytes, and would let in a longer
// string that merely begins with the right password.
func (u *Users) Authenticate(ctx context.Context, name, password string) (User, error) {
	var (
		user    User
		hash    string
		created int64
	)
	err := u.db.QueryRowContext(ctx,
		`SELECT id, name, password_hash, created FROM users WHERE name = ?`, name).
		Scan(&user.ID, &user.Name, &hash, &created)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		dummy, err := u.dummy()
		if err != nil {
			return User{}, err
		}
		_ = bcrypt.CompareHashAndPassword(dummy, []byte(password))
		return User{}, ErrBadCredentials
	case err != nil:
		return User{}, fmt.Errorf("login: looking up user %q: %w", name, err)
	}
	match := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
	if !match || len(password) > MaxPassword {
		return User{}, ErrBadCredentials
	}
	user.Created = time.UnixMilli(created).UTC()
	return user, nil
}

// cost is the bcrypt cost Register uses.
func (u *Users) cost() int {
	switch {
	case u.Cost == 0:
		return bcrypt.DefaultCost
	case u.Cost < bcrypt.MinCost:
		return bcrypt.MinCost
	}
	return u.Cost
}

// dummy returns the hash Authenticate checks an unknown name's password
// against: a hash of a random password, which no one can know, at the
// current Cost, so that the check takes as long as a real one. It is made
// once per Cost.
func (u *Users) dummy() ([]byte, error) {
	cost := u.cost()
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.dummyBuilt && u.dummyCost == cost {
		return u.dummyHash, nil
	}
	h, err := bcrypt.GenerateFromPassword([]byte(rand.Text()), cost)
	if err != nil {
		return nil, fmt.Errorf("login: hashing the dummy password: %w", err)
	}
	u.dummyHash, u.dummyCost, u.dummyBuilt = h, cost, true
	return h, nil
}
