package login

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
	_ "modernc.org/sqlite"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// Exercise 5.1: Users and password hashes.
//
// Users keeps names and bcrypt hashes of passwords in SQLite. Register
// checks the rules (a name of 3 to 32 of a-z, 0-9, _ and -; a password of 8
// to 72 bytes, bcrypt's limit) and refuses a taken name; Authenticate
// answers an unknown name and a wrong password alike: same error, and about
// the same time. The tests run bcrypt at its lowest cost to stay fast,
// except where the time is what they measure.

// usrOpenDB opens a fresh in-memory SQLite database. An in-memory database
// belongs to one connection, so the pool is held to one: a second
// connection would open a second, empty database.
func usrOpenDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", ":memory:")
	require.NoError(t, err)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// usrNewUsers returns the users table of a fresh database, hashing at
// bcrypt.MinCost.
func usrNewUsers(t *testing.T) (*Users, *sql.DB) {
	t.Helper()
	db := usrOpenDB(t)
	u, err := NewUsers(db)
	require.NoError(t, err, "NewUsers")
	require.NotNil(t, u, "NewUsers")
	u.Cost = bcrypt.MinCost
	return u, db
}

// usrDBCells returns every value stored in every table of db, as text, so
// that a test can look for a password or a token ID without knowing the
// schema.
func usrDBCells(t *testing.T, db *sql.DB) []string {
	t.Helper()
	ctx := context.Background()
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
	require.NoError(t, err)
	var tables []string
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		tables = append(tables, name)
	}
	require.NoError(t, rows.Err())
	require.NoError(t, rows.Close())

	var cells []string
	for _, table := range tables {
		rows, err := db.QueryContext(ctx, fmt.Sprintf(`SELECT * FROM %q`, table))
		require.NoError(t, err)
		cols, err := rows.Columns()
		require.NoError(t, err)
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			require.NoError(t, rows.Scan(ptrs...))
			for _, v := range vals {
				switch v := v.(type) {
				case []byte:
					cells = append(cells, string(v))
				case nil:
				default:
					cells = append(cells, fmt.Sprint(v))
				}
			}
		}
		require.NoError(t, rows.Err())
		require.NoError(t, rows.Close())
	}
	return cells
}

func TestRegisterChecksNamesAndPasswords(t *testing.T) {
	exercise.Start(t, "5.1")
	users, _ := usrNewUsers(t)
	ctx := context.Background()
	const good = "correct horse"

	names := []struct {
		name string
		ok   bool
	}{
		{"ana", true},
		{"bob_smith-2", true},
		{strings.Repeat("z", 32), true},
		{"007", true},
		{"", false},
		{"ab", false},
		{strings.Repeat("y", 33), false},
		{"Ana", false}, // upper case is refused, not folded
		{"ana smith", false},
		{"ana!", false},
		{"ana.b", false},
		{"../etc", false},
		{"ána", false},   // a-z only
		{"ana\n", false}, // nothing invisible
		{"ana\x00x", false},
	}
	for _, tc := range names {
		u, err := users.Register(ctx, tc.name, good)
		if tc.ok {
			if assert.NoError(t, err, "Register(%q): a valid name", tc.name) {
				assert.Equal(t, tc.name, u.Name)
				assert.Positive(t, u.ID, "Register(%q): the user's ID", tc.name)
			}
		} else {
			assert.ErrorIs(t, err, ErrBadUsername, "Register(%q): names are 3 to 32 of a-z, 0-9, _ and -", tc.name)
		}
	}

	// The password rule counts bytes, because bcrypt does: "é" is two
	// bytes in UTF-8, so four of them are a long enough password and 37
	// of them (74 bytes) too long, whatever the character count says.
	passwords := []struct {
		what, password string
		ok             bool
	}{
		{"empty", "", false},
		{"7 bytes", "1234567", false},
		{"8 bytes", "12345678", true},
		{"72 bytes, bcrypt's limit", strings.Repeat("p", 72), true},
		{"73 bytes, one past bcrypt's limit", strings.Repeat("p", 73), false},
		{"4 characters, 8 bytes", "éééé", true},
		{"36 characters, 72 bytes", strings.Repeat("é", 36), true},
		{"37 characters, 74 bytes", strings.Repeat("é", 37), false},
		{"100 bytes", strings.Repeat("long passphrase ", 6) + "abcd", false},
	}
	for i, tc := range passwords {
		name := fmt.Sprintf("pw%d", i)
		_, err := users.Register(ctx, name, tc.password)
		if tc.ok {
			assert.NoError(t, err, "Register with a password of %s: allowed", tc.what)
			continue
		}
		assert.ErrorIs(t, err, ErrWeakPassword, "Register with a password of %s: passwords are 8 to 72 bytes", tc.what)
		_, err = users.Authenticate(ctx, name, tc.password)
		assert.ErrorIs(t, err, ErrBadCredentials, "a refused registration must not leave a user behind")
	}
}

func TestRegisterReturnsTheUserAndAuthenticateFindsIt(t *testing.T) {
	exercise.Start(t, "5.1")
	users, _ := usrNewUsers(t)
	ctx := context.Background()

	before := time.Now().Add(-time.Second)
	ana, err := users.Register(ctx, "ana", "ana's password")
	require.NoError(t, err)
	bob, err := users.Register(ctx, "bob", "bob's password")
	require.NoError(t, err)
	after := time.Now().Add(time.Second)

	assert.Positive(t, ana.ID)
	assert.NotEqual(t, ana.ID, bob.ID, "each user has an ID of its own")
	assert.Equal(t, "ana", ana.Name)
	assert.True(t, ana.Created.After(before) && ana.Created.Before(after),
		"Created is the time of registration, got %v", ana.Created)
	assert.Equal(t, time.UTC, ana.Created.Location(), "Created is in UTC")

	got, err := users.Authenticate(ctx, "ana", "ana's password")
	require.NoError(t, err, "Authenticate with the password ana registered")
	assert.Equal(t, ana.ID, got.ID)
	assert.Equal(t, "ana", got.Name)
	assert.True(t, ana.Created.Equal(got.Created), "Authenticate returns the user as registered: Created %v, then %v", ana.Created, got.Created)

	got, err = users.Authenticate(ctx, "bob", "bob's password")
	require.NoError(t, err)
	assert.Equal(t, bob.ID, got.ID)
}

func TestRegisterRefusesATakenName(t *testing.T) {
	exercise.Start(t, "5.1")
	users, _ := usrNewUsers(t)
	ctx := context.Background()

	_, err := users.Register(ctx, "ana", "first password")
	require.NoError(t, err)
	_, err = users.Register(ctx, "ana", "second password")
	require.ErrorIs(t, err, ErrUserExists, "a second Register of the same name")

	_, err = users.Authenticate(ctx, "ana", "first password")
	assert.NoError(t, err, "the refused registration must not replace the first password")
	_, err = users.Authenticate(ctx, "ana", "second password")
	assert.ErrorIs(t, err, ErrBadCredentials, "the refused registration's password must not work")

	// Two registrations of one name at once: exactly one wins, and the
	// other hears ErrUserExists — not a database error, and not a second
	// user. Checking with a SELECT before the INSERT is not enough; the
	// database's UNIQUE constraint has to decide.
	const racers = 8
	errs := make(chan error, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			_, err := users.Register(ctx, "bob", fmt.Sprintf("password %d", i))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	won := 0
	for err := range errs {
		if err == nil {
			won++
			continue
		}
		assert.ErrorIs(t, err, ErrUserExists, "the registrations that lose the race")
	}
	assert.Equal(t, 1, won, "of %d concurrent registrations of one name, exactly one succeeds", racers)
}

func TestRegisterStoresABcryptHashNotThePassword(t *testing.T) {
	exercise.Start(t, "5.1")
	users, db := usrNewUsers(t)
	users.Cost = bcrypt.MinCost + 1 // a cost of its own, to check it is used
	ctx := context.Background()
	const password = "Tr0ub4dor&3-is-not-it"

	_, err := users.Register(ctx, "ana", password)
	require.NoError(t, err)
	_, err = users.Register(ctx, "bob", password)
	require.NoError(t, err)

	var hashes []string
	for _, cell := range usrDBCells(t, db) {
		require.NotContains(t, cell, password, "the database holds the password in clear")
		if bcrypt.CompareHashAndPassword([]byte(cell), []byte(password)) == nil {
			hashes = append(hashes, cell)
		}
	}
	require.Len(t, hashes, 2, "the database should hold one bcrypt hash of the password per user")
	assert.NotEqual(t, hashes[0], hashes[1],
		"two users with one password get different hashes: bcrypt salts each hash")
	for _, h := range hashes {
		cost, err := bcrypt.Cost([]byte(h))
		require.NoError(t, err)
		assert.Equal(t, users.Cost, cost, "the hash's cost should be Users.Cost")
	}
}

func TestRegisterHashesAtTheDefaultCost(t *testing.T) {
	exercise.Start(t, "5.1")
	db := usrOpenDB(t)
	users, err := NewUsers(db)
	require.NoError(t, err)
	require.Zero(t, users.Cost, "a new Users has Cost 0, which means bcrypt.DefaultCost")
	const password = "a password at the default cost"
	_, err = users.Register(context.Background(), "ana", password)
	require.NoError(t, err)

	found := false
	for _, cell := range usrDBCells(t, db) {
		if bcrypt.CompareHashAndPassword([]byte(cell), []byte(password)) == nil {
			cost, err := bcrypt.Cost([]byte(cell))
			require.NoError(t, err)
			assert.Equal(t, bcrypt.DefaultCost, cost, "Cost 0 hashes at bcrypt.DefaultCost")
			found = true
		}
	}
	assert.True(t, found, "no bcrypt hash of the password in the database")
}

func TestNewUsersKeepsTheUsersOfAnExistingTable(t *testing.T) {
	exercise.Start(t, "5.1")
	users, db := usrNewUsers(t)
	ctx := context.Background()
	_, err := users.Register(ctx, "ana", "ana's password")
	require.NoError(t, err)

	again, err := NewUsers(db)
	require.NoError(t, err, "NewUsers on a database that already has the table (a restart)")
	_, err = again.Authenticate(ctx, "ana", "ana's password")
	assert.NoError(t, err, "the users registered before are still there")
}

func TestUsersAuthenticateRefusesWrongPasswordsAndUnknownNamesAlike(t *testing.T) {
	exercise.Start(t, "5.1")
	users, _ := usrNewUsers(t)
	ctx := context.Background()
	long := strings.Repeat("x", 72) // bcrypt's limit exactly
	_, err := users.Register(ctx, "ana", "ana's password")
	require.NoError(t, err)
	_, err = users.Register(ctx, "max", long)
	require.NoError(t, err)

	wrong := []struct{ what, name, password string }{
		{"a wrong password", "ana", "bob's password"},
		{"the password in another case", "ana", "ANA'S PASSWORD"},
		{"the password and one more byte", "ana", "ana's password!"},
		{"an empty password", "ana", ""},
		{"an unknown name", "nobody", "ana's password"},
		{"the name in another case", "Ana", "ana's password"},
		{"an empty name", "", "ana's password"},
		// bcrypt looks at 72 bytes and no more: a longer string that
		// starts with the right password must not be taken for it.
		{"73 bytes starting with the 72-byte password", "max", long + "y"},
	}
	var first error
	for _, tc := range wrong {
		u, err := users.Authenticate(ctx, tc.name, tc.password)
		require.ErrorIs(t, err, ErrBadCredentials, "Authenticate with %s", tc.what)
		assert.Zero(t, u, "Authenticate with %s returns no user", tc.what)
		if first == nil {
			first = err
		}
		assert.Equal(t, first.Error(), err.Error(),
			"Authenticate with %s: every refusal must read the same, or it tells which names exist", tc.what)
	}
	_, err = users.Authenticate(ctx, "max", long)
	assert.NoError(t, err, "the 72-byte password itself")
}

// usrTime returns how long fn takes.
func usrTime(fn func()) time.Duration {
	start := time.Now()
	fn()
	return time.Since(start)
}

func TestUsersAuthenticateTakesAsLongForUnknownNames(t *testing.T) {
	exercise.Start(t, "5.1")
	users, _ := usrNewUsers(t)
	// A cost high enough that one bcrypt check (a few milliseconds here,
	// more under -race) stands far above a database lookup.
	users.Cost = 7
	ctx := context.Background()
	_, err := users.Register(ctx, "ana", "ana's password")
	require.NoError(t, err)
	hash, err := bcrypt.GenerateFromPassword([]byte("ana's password"), users.Cost)
	require.NoError(t, err)

	// Take the fastest of several runs of each, interleaved, so that a
	// busy machine slows all three alike and cannot make a slow path
	// look fast. Noise only ever adds time.
	const runs = 3
	check, unknown, wrong := time.Duration(1<<62), time.Duration(1<<62), time.Duration(1<<62)
	for range runs {
		check = min(check, usrTime(func() { _ = bcrypt.CompareHashAndPassword(hash, []byte("a guess")) }))
		unknown = min(unknown, usrTime(func() {
			_, err := users.Authenticate(ctx, "nobody", "a guess")
			require.ErrorIs(t, err, ErrBadCredentials)
		}))
		wrong = min(wrong, usrTime(func() {
			_, err := users.Authenticate(ctx, "ana", "a guess")
			require.ErrorIs(t, err, ErrBadCredentials)
		}))
	}
	t.Logf("one bcrypt check at cost %d: %v; Authenticate, wrong password: %v; unknown name: %v", users.Cost, check, wrong, unknown)

	// The exact times vary; what must hold is that an unknown name costs a
	// whole bcrypt check at the same cost, as a wrong password does. An
	// Authenticate that returns as soon as the name is not found takes a
	// database lookup — a hundred times less.
	assert.GreaterOrEqual(t, wrong, check/3,
		"a wrong password should cost a bcrypt check (%v), took %v", check, wrong)
	assert.GreaterOrEqual(t, unknown, check/3,
		"an unknown name should cost a bcrypt check at Users.Cost like a wrong password (%v), took %v: "+
			"compare the password against a dummy hash of the same cost, or the timing tells which names exist", check, unknown)
	assert.GreaterOrEqual(t, unknown, wrong/3,
		"an unknown name (%v) should take about as long as a wrong password (%v)", unknown, wrong)
}
