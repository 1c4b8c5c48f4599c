package login

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/websocket-workbook/workbook/internal/exercise"
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

	// Exercise 5.2 adds the rest: the key, the ttl, the database, and the
	// OnRevoke functions.
}

// NewTokens returns Tokens that sign with key and issue tokens valid for
// ttl, keeping revocations in db (the table above, created if missing;
// expired rows are purged at once). The key must be at least MinKeySize
// bytes from a secure random source (crypto/rand): whoever knows it can
// sign tokens for any user. ttl must be positive.
func NewTokens(db *sql.DB, key []byte, ttl time.Duration) (*Tokens, error) {
	return nil, exercise.TODO("5.2")
}

// Issue signs a new token for u, valid for the ttl from now, with a fresh
// random ID, and returns it with its claims.
func (t *Tokens) Issue(u User) (token string, c Claims, err error) {
	return "", Claims{}, exercise.TODO("5.2")
}

// Verify checks token and returns its claims. The checks, cheapest first:
// present (ErrTokenMissing), well-formed (ErrTokenMalformed), signed by
// this key with HS256 and no other algorithm, issued by Issuer, with its
// claims (ErrTokenInvalid), not past "exp" by the clock (ErrTokenExpired),
// and not revoked (ErrTokenRevoked). Only the last needs the database;
// an error from it is returned as it is, and means "could not tell", not
// "refused".
func (t *Tokens) Verify(ctx context.Context, token string) (Claims, error) {
	return Claims{}, exercise.TODO("5.2")
}

// Revoke puts the token c describes on the revocation list, so that
// Verify refuses it from now on, then calls the OnRevoke functions. On the
// way it purges the rows of tokens that have expired since. Revoking a
// token twice is not an error.
func (t *Tokens) Revoke(ctx context.Context, c Claims) error {
	return exercise.TODO("5.2")
}

// OnRevoke registers fn, called with the claims after every successful
// Revoke, in the order registered, on Revoke's goroutine: keep it short.
// The chat server uses it to disconnect the sockets that logged in with
// that token — verifying the token at connect time is not enough, since a
// socket stays open long after.
func (t *Tokens) OnRevoke(fn func(Claims)) {
	_ = exercise.TODO("5.2")
}
