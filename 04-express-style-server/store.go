package server

import (
	"context"
	"database/sql"
	"errors"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// A Message is one chat message as it is stored and as it goes to clients,
// in "message-saved" and in GET /api/messages.
type Message struct {
	ID     int64     `json:"id"`     // assigned by the store: increasing, never reused
	Author string    `json:"author"` // the name the sender gave
	Text   string    `json:"text"`
	Time   time.Time `json:"time"` // when it was saved, UTC, to the millisecond
}

// ErrStoreClosed is what a Store returns once Close has been called.
var ErrStoreClosed = errors.New("server: store closed")

// A Store keeps the chat's messages. The chat saves a message before it
// broadcasts it, so a message everyone saw is a message the store has.
//
// Its methods may be called from many goroutines at once.
type Store interface {
	// Save stores m (ID assigned; Time set to now when zero) and returns it as stored.
	Save(ctx context.Context, m Message) (Message, error)
	// Before returns up to limit messages with ID < before (before <= 0: the newest), oldest first.
	Before(ctx context.Context, before int64, limit int) ([]Message, error)
	// Close releases the store; later calls return ErrStoreClosed.
	Close() error
}

// SQLiteStore is a Store in an SQLite database, through database/sql and
// modernc.org/sqlite, an SQLite translated to pure Go: no C compiler, no
// shared library, one static binary.
//
// A message is one row of the table messages; its ID is SQLite's rowid,
// declared AUTOINCREMENT so that an ID is never handed out twice, and its
// time is kept as integer milliseconds since the Unix epoch.
type SQLiteStore struct {
	db *sql.DB
}

// DB returns the store's database, for tables that belong beside the
// messages in the same file and the same pool of connections: lesson 05
// keeps its users and revoked tokens there. The store owns it: Close
// closes it, and nothing may use it after that. This method is given; it
// is not part of exercise 4.6.
func (s *SQLiteStore) DB() *sql.DB { return s.db }

// OpenSQLite opens (creating the schema if needed) the database at path; ":memory:" for tests.
// modernc.org/sqlite (pure Go, driver name "sqlite"). WAL + busy_timeout for a file.
//
// A file database runs in WAL mode (write-ahead log): readers do not block
// the writer nor the writer the readers, and a committed save survives the
// process. busy_timeout makes concurrent writers wait for each other instead
// of failing.
//
// ":memory:" is a database that lives as long as the store. database/sql
// keeps a pool of connections, and every SQLite connection to ":memory:" is a
// database of its own, so the store then uses exactly one connection; a
// second one would see no table at all.
func OpenSQLite(path string) (*SQLiteStore, error) {
	return nil, exercise.TODO("4.6")
}

// Save stores m and returns it with its ID. A zero Time means now; any time
// is kept in UTC to the millisecond, which is what a reader gets back, so the
// message Save returns is equal to the one Before returns later.
func (s *SQLiteStore) Save(ctx context.Context, m Message) (Message, error) {
	return Message{}, exercise.TODO("4.6")
}

// Before returns a page of history: the newest messages with an ID below
// before (the newest of all when before <= 0), at most limit of them, in the
// order they were written (oldest first). To page further back, pass the ID
// of the first message of this page as the next before. limit must be
// positive. An empty page is an empty, non-nil slice.
func (s *SQLiteStore) Before(ctx context.Context, before int64, limit int) ([]Message, error) {
	return nil, exercise.TODO("4.6")
}

// Close waits for the queries in flight, then closes the database (a WAL
// database checkpoints its log into the main file as its last connection
// closes). Calls after the first return ErrStoreClosed.
func (s *SQLiteStore) Close() error {
	return exercise.TODO("4.6")
}
