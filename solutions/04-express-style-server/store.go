package server

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go
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

	// mu is held for reading by every query and for writing by Close, so
	// Close waits for the queries in flight and nothing starts after it.
	mu     sync.RWMutex
	closed bool
}

// schema is created when the database is opened; IF NOT EXISTS makes that a
// no-op for a database that has it already.
const schema = `CREATE TABLE IF NOT EXISTS messages (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	author  TEXT    NOT NULL,
	text    TEXT    NOT NULL,
	time_ms INTEGER NOT NULL
)`

// busyTimeout is how long a connection waits for another one's write lock
// before it gives up with SQLITE_BUSY.
const busyTimeout = 5 * time.Second

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
	if path == "" {
		return nil, errors.New(`server: OpenSQLite: empty path (use ":memory:" for a database in memory)`)
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("server: OpenSQLite: %q: a database path may not contain '?' or '#'", path)
	}
	memory := path == ":memory:"
	// The driver runs each _pragma on every new connection of the pool.
	dsn := path + fmt.Sprintf("?_pragma=busy_timeout(%d)", busyTimeout.Milliseconds())
	if !memory {
		dsn += "&_pragma=journal_mode(WAL)"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("server: opening %s: %w", path, err)
	}
	if memory {
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		db.SetConnMaxLifetime(0) // closing the only connection would drop the data
		db.SetConnMaxIdleTime(0)
	} else {
		db.SetMaxOpenConns(4) // SQLite writes one at a time anyway
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*busyTimeout)
	defer cancel()
	if _, err := db.ExecContext(ctx, schema); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("server: creating the schema in %s: %w", path, err)
	}
	return &SQLiteStore{db: db}, nil
}

// Save stores m and returns it with its ID. A zero Time means now; any time
// is kept in UTC to the millisecond, which is what a reader gets back, so the
// message Save returns is equal to the one Before returns later.
func (s *SQLiteStore) Save(ctx context.Context, m Message) (Message, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return Message{}, ErrStoreClosed
	}
	if m.Time.IsZero() {
		m.Time = time.Now()
	}
	m.Time = time.UnixMilli(m.Time.UnixMilli()).UTC()
	res, err := s.db.ExecContext(ctx,
		`INSERT INTO messages (author, text, time_ms) VALUES (?, ?, ?)`,
		m.Author, m.Text, m.Time.UnixMilli())
	if err != nil {
		return Message{}, fmt.Errorf("server: saving a message: %w", err)
	}
	if m.ID, err = res.LastInsertId(); err != nil {
		return Message{}, fmt.Errorf("server: saving a message: %w", err)
	}
	return m, nil
}

// Before returns a page of history: the newest messages with an ID below
// before (the newest of all when before <= 0), at most limit of them, in the
// order they were written (oldest first). To page further back, pass the ID
// of the first message of this page as the next before. limit must be
// positive. An empty page is an empty, non-nil slice.
func (s *SQLiteStore) Before(ctx context.Context, before int64, limit int) ([]Message, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("server: Before: limit %d, want at least 1", limit)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrStoreClosed
	}
	// The newest `limit` rows below the cursor are the first ones in
	// descending order; they are reversed below.
	query := `SELECT id, author, text, time_ms FROM messages ORDER BY id DESC LIMIT ?`
	args := []any{limit}
	if before > 0 {
		query = `SELECT id, author, text, time_ms FROM messages WHERE id < ? ORDER BY id DESC LIMIT ?`
		args = []any{before, limit}
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("server: reading messages: %w", err)
	}
	defer rows.Close()
	out := make([]Message, 0, min(limit, 64))
	for rows.Next() {
		var m Message
		var ms int64
		if err := rows.Scan(&m.ID, &m.Author, &m.Text, &ms); err != nil {
			return nil, fmt.Errorf("server: reading messages: %w", err)
		}
		m.Time = time.UnixMilli(ms).UTC()
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("server: reading messages: %w", err)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// Close waits for the queries in flight, then closes the database (a WAL
// database checkpoints its log into the main file as its last connection
// closes). Calls after the first return ErrStoreClosed.
func (s *SQLiteStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrStoreClosed
	}
	s.closed = true
	return s.db.Close()
}
