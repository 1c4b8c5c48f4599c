package login

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/websocket-workbook/workbook/internal/exercise"
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

	// Exercise 5.1 adds the rest: the database, and the dummy hash that
	// Authenticate checks the password of an unknown name against.
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
	return nil, exercise.TODO("5.1")
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
	return User{}, exercise.TODO("5.1")
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
	return User{}, exercise.TODO("5.1")
}
