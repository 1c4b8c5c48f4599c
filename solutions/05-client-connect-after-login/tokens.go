package login

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Verify refuses a token with one of these (wrapped: test with errors.Is).
var (
	// ErrTokenMissing: there is no token at all.
	ErrTokenMissing = errors.New("no token")
	// ErrTokenMalformed: not three base64url parts with a JSON header
	// and payload.
	ErrTokenMalformed = errors.New("malformed token")
	// ErrTokenInvalid: a token this server did not sign as it is: a bad
	// signature, another algorithm than HS256, another issuer, or claims
	// missing.
	ErrTokenInvalid = errors.New("invalid token")
	// ErrTokenExpired: signed by this server, but past its expiry.
	ErrTokenExpired = errors.New("token expired")
	// ErrTokenRevoked: signed by this server and not expired, but revoked
	// by a logout.
	ErrTokenRevoked = errors.New("token revoked")
)

// Issuer is the "iss" claim of every token Tokens issues, and the only one
// Verify accepts: a token another service signed — even with a key that
// happens to be shared — is not a login here.
const Issuer = "websocket-workbook"

// MinKeySize is the shortest signing key NewTokens accepts: HS256's HMAC
// key should be at least as long as its 256-bit output (RFC 7518, section
// 3.2), and random, not a password.
const MinKeySize = 32

// Claims is what a token says: whose it is, its ID and when it expires.
type Claims struct {
	UserID  int64     // "sub", as a decimal string on the wire
	Name    string    // "name"
	ID      string    // "jti": the token's own ID, the key of its revocation
	Expires time.Time // "exp", whole seconds, UTC
}

// jwtClaims is Claims as JSON in the token's payload.
type jwtClaims struct {
	Name string `json:"name"`
	jwt.RegisteredClaims
}

// Tokens issues and checks the tokens a client shows instead of its
// password: JSON Web Tokens (RFC 7519) signed with HMAC-SHA256 ("HS256",
// RFC 7518) under a key only the server knows.
//
// # Why a signed token
//
// After login, the client needs something to prove who it is on every
// request and on every Socket.IO connection, without sending the password
// again. A signed token carries its claims — user, name, expiry — and the
// signature proves the server wrote them, so checking one needs the key
// and the clock, not a database lookup. A token looks like
//
//	eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJuYW1lIjoiYW5hIiwi….sig
//
// base64url(header) "." base64url(payload) "." base64url(HMAC of the
// first two). Anyone can read the payload; only the key holder can change
// it. So it holds nothing secret.
//
// # Why it expires, and why logout needs a list
//
// A signed token stays valid for anyone who holds it until its "exp" —
// it cannot be deleted, because the server does not keep it. A stolen
// token is only useful until then, so tokens live briefly (the ttl). And
// logging out has to be remembered: Revoke writes the token's ID ("jti",
// a random ID in each token) to a revocation list, and Verify refuses the
// IDs on it. The list lives in SQLite, so a restart does not bring a
// logged-out token back:
//
//	CREATE TABLE revoked_tokens (
//		jti     TEXT PRIMARY KEY,
//		expires INTEGER NOT NULL    -- the token's exp, Unix seconds
//	)
//
// It stays small because a row is only needed until its token expires:
// after that, Verify refuses the token for being expired anyway. Revoke,
// and NewTokens at start-up, delete the rows past their expiry, so the list
// holds at most the logouts of one ttl.
//
// # Why only HS256
//
// The token's header names its algorithm, and the header is written by
// whoever made the token. A verifier that believes it can be told "alg":
// "none" (no signature at all: RFC 7519 allows such "unsecured" tokens), or
// "RS256" on a server whose RSA public key — public, by definition — then
// gets used as an HMAC secret ("algorithm confusion"). So Verify accepts
// exactly one algorithm, the one Issue uses, whatever the header says.
//
// A Tokens is safe for concurrent use.
type Tokens struct {
	// Now is the clock: Issue stamps tokens with it and Verify checks
	// expiry against it. Nil means time.Now. Tests set it to move time
	// forward; set it before the first call.
	Now func() time.Time

	key    []byte
	ttl    time.Duration
	db     *sql.DB
	parser *jwt.Parser

	mu       sync.Mutex
	onRevoke []func(Claims)
}

// NewTokens returns Tokens that sign with key and issue tokens valid for
// ttl, keeping revocations in db (the table above, created if missing;
// expired rows are purged at once). The key must be at least MinKeySize
// bytes from a secure random source (crypto/rand): whoever knows it can
// sign tokens for any user. ttl must be positive.
func NewTokens(db *sql.DB, key []byte, ttl time.Duration) (*Tokens, error) {
	if db == nil {
		return nil, errors.New("login: NewTokens: nil *sql.DB")
	}
	if len(key) < MinKeySize {
		return nil, fmt.Errorf("login: NewTokens: the key has %d bytes, it needs at least %d", len(key), MinKeySize)
	}
	if ttl <= 0 {
		return nil, fmt.Errorf("login: NewTokens: ttl %v is not positive", ttl)
	}
	_, err := db.Exec(`CREATE TABLE IF NOT EXISTS revoked_tokens (
		jti     TEXT PRIMARY KEY,
		expires INTEGER NOT NULL
	)`)
	if err != nil {
		return nil, fmt.Errorf("login: creating the revocation table: %w", err)
	}
	t := &Tokens{key: append([]byte(nil), key...), ttl: ttl, db: db}
	t.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(Issuer),
		jwt.WithExpirationRequired(),
		jwt.WithStrictDecoding(),
		jwt.WithTimeFunc(t.now),
	)
	if err := t.purge(context.Background()); err != nil {
		return nil, err
	}
	return t, nil
}

// now is the clock, Now or time.Now.
func (t *Tokens) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// Issue signs a new token for u, valid for the ttl from now, with a fresh
// random ID, and returns it with its claims.
func (t *Tokens) Issue(u User) (token string, c Claims, err error) {
	now := t.now()
	c = Claims{
		UserID:  u.ID,
		Name:    u.Name,
		ID:      rand.Text(), // 128 random bits
		Expires: now.Add(t.ttl).Truncate(time.Second).UTC(),
	}
	jc := jwtClaims{
		Name: c.Name,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    Issuer,
			Subject:   strconv.FormatInt(c.UserID, 10),
			ID:        c.ID,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(c.Expires),
		},
	}
	token, err = jwt.NewWithClaims(jwt.SigningMethodHS256, jc).SignedString(t.key)
	if err != nil {
		return "", Claims{}, fmt.Errorf("login: signing a token: %w", err)
	}
	return token, c, nil
}

// maxTokenLen bounds what Verify will parse. The tokens Issue makes are
// about 250 bytes.
const maxTokenLen = 4096

// Verify checks token and returns its claims. The checks, cheapest first:
// present (ErrTokenMissing), well-formed (ErrTokenMalformed), signed by
// this key with HS256 and no other algorithm, issued by Issuer, with its
// claims (ErrTokenInvalid), not past "exp" by the clock (ErrTokenExpired),
// and not revoked (ErrTokenRevoked). Only the last needs the database;
// an error from it is returned as it is, and means "could not tell", not
// "refused".
func (t *Tokens) Verify(ctx context.Context, token string) (Claims, error) {
	if token == "" {
		return Claims{}, ErrTokenMissing
	}
	if len(token) > maxTokenLen {
		return Claims{}, fmt.Errorf("%w: %d bytes", ErrTokenMalformed, len(token))
	}
	var jc jwtClaims
	_, err := t.parser.ParseWithClaims(token, &jc, func(*jwt.Token) (any, error) { return t.key, nil })
	switch {
	case err == nil:
	case errors.Is(err, jwt.ErrTokenMalformed):
		return Claims{}, fmt.Errorf("%w: %w", ErrTokenMalformed, err)
	case errors.Is(err, jwt.ErrTokenExpired):
		// Reported only after the signature checked out: an expired
		// forgery is still a forgery.
		return Claims{}, fmt.Errorf("%w: %w", ErrTokenExpired, err)
	default:
		return Claims{}, fmt.Errorf("%w: %w", ErrTokenInvalid, err)
	}
	id, err := strconv.ParseInt(jc.Subject, 10, 64)
	if err != nil || jc.Name == "" || jc.ID == "" {
		return Claims{}, fmt.Errorf("%w: sub, name or jti missing", ErrTokenInvalid)
	}
	c := Claims{UserID: id, Name: jc.Name, ID: jc.ID, Expires: jc.ExpiresAt.UTC()}

	var one int
	err = t.db.QueryRowContext(ctx, `SELECT 1 FROM revoked_tokens WHERE jti = ?`, c.ID).Scan(&one)
	switch {
	case err == nil:
		return Claims{}, ErrTokenRevoked
	case !errors.Is(err, sql.ErrNoRows):
		return Claims{}, fmt.Errorf("login: checking the revocation list: %w", err)
	}
	return c, nil
}

// Revoke puts the token c describes on the revocation list, so that
// Verify refuses it from now on, then calls the OnRevoke functions. On the
// way it purges the rows of tokens that have expired since. Revoking a
// token twice is not an error.
func (t *Tokens) Revoke(ctx context.Context, c Claims) error {
	if c.ID == "" {
		return errors.New("login: Revoke: the claims have no token ID")
	}
	// Purge first: if that fails, nothing has happened yet, and the
	// caller's error means what it says.
	if err := t.purge(ctx); err != nil {
		return err
	}
	_, err := t.db.ExecContext(ctx,
		`INSERT INTO revoked_tokens (jti, expires) VALUES (?, ?) ON CONFLICT (jti) DO NOTHING`,
		c.ID, c.Expires.Unix())
	if err != nil {
		return fmt.Errorf("login: revoking a token: %w", err)
	}
	t.mu.Lock()
	fns := append([]func(Claims){}, t.onRevoke...)
	t.mu.Unlock()
	for _, fn := range fns {
		fn(c)
	}
	return nil
}

// OnRevoke registers fn, called with the claims after every successful
// Revoke, in the order registered, on Revoke's goroutine: keep it short.
// The chat server uses it to disconnect the sockets that logged in with
// that token — verifying the token at connect time is not enough, since a
// socket stays open long after.
func (t *Tokens) OnRevoke(fn func(Claims)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.onRevoke = append(t.onRevoke, fn)
}

// purge deletes the revocations of tokens that have expired: Verify
// refuses those for their expiry already.
func (t *Tokens) purge(ctx context.Context) error {
	_, err := t.db.ExecContext(ctx, `DELETE FROM revoked_tokens WHERE expires <= ?`, t.now().Unix())
	if err != nil {
		return fmt.Errorf("login: purging the revocation list: %w", err)
	}
	return nil
}
