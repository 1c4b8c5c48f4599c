package login

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"hash"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// Exercise 5.2: Tokens that expire.
//
// A token is a JWT (RFC 7519): base64url(header) "." base64url(payload)
// "." base64url(signature), signed with HMAC-SHA256 (RFC 7518, "HS256").
// The tests take tokens apart and put them together by hand, with the
// standard library only, to show what a forger would try: change the
// payload, sign with another key, claim another algorithm or none.

// tokKey is the signing key of the tests: 32 bytes, the least NewTokens
// takes.
var tokKey = []byte("0123456789abcdef0123456789abcdef")

// tokTTL is how long the tests' tokens live.
const tokTTL = time.Hour

// tokClock is a clock that moves only when told to.
type tokClock struct {
	mu  sync.Mutex
	now time.Time
}

func tokNewClock() *tokClock {
	return &tokClock{now: time.Date(2030, 1, 2, 15, 4, 5, 250_000_000, time.UTC)}
}

func (c *tokClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *tokClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// tokNew returns Tokens on db (a fresh in-memory database when nil) with
// tokKey, tokTTL and clock.
func tokNew(t *testing.T, db *sql.DB, clock *tokClock) *Tokens {
	t.Helper()
	if db == nil {
		db = usrOpenDB(t)
	}
	tokens, err := NewTokens(db, tokKey, tokTTL)
	require.NoError(t, err, "NewTokens")
	require.NotNil(t, tokens, "NewTokens")
	tokens.Now = clock.Now
	return tokens
}

// tokParts is a token taken apart: header and payload decoded, the
// signature as it came.
type tokParts struct {
	Header  map[string]any
	Payload map[string]any
	Sig     string
}

func tokSplit(t *testing.T, token string) tokParts {
	t.Helper()
	parts := strings.Split(token, ".")
	require.Len(t, parts, 3, "a JWT is three base64url parts joined by dots, got %q", token)
	var p tokParts
	for i, into := range []*map[string]any{&p.Header, &p.Payload} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		require.NoError(t, err, "part %d of the token is not unpadded base64url (RFC 7515, section 2)", i)
		require.NoError(t, json.Unmarshal(b, into), "part %d of the token is not a JSON object: %s", i, b)
	}
	p.Sig = parts[2]
	return p
}

// tokB64 encodes v as JSON in unpadded base64url.
func tokB64(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return base64.RawURLEncoding.EncodeToString(b)
}

// tokHMAC signs header and payload with HMAC under key, as HS256 (sha256),
// HS384 or HS512 do.
func tokHMAC(t *testing.T, h func() hash.Hash, key []byte, header, payload map[string]any) string {
	t.Helper()
	signing := tokB64(t, header) + "." + tokB64(t, payload)
	mac := hmac.New(h, key)
	mac.Write([]byte(signing))
	return signing + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// tokWith returns a copy of m with the changes: a nil value deletes.
func tokWith(m map[string]any, changes map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	for k, v := range changes {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

func TestNewTokensRefusesShortKeys(t *testing.T) {
	exercise.Start(t, "5.2")
	db := usrOpenDB(t)
	for _, n := range []int{0, 16, 31} {
		_, err := NewTokens(db, make([]byte, n), tokTTL)
		assert.Error(t, err, "NewTokens with a key of %d bytes: HS256 wants at least 32", n)
	}
	_, err := NewTokens(db, tokKey, 0)
	assert.Error(t, err, "NewTokens with a ttl of 0")
	tokens, err := NewTokens(db, tokKey, tokTTL)
	require.NoError(t, err, "NewTokens with a key of 32 bytes")
	assert.NotNil(t, tokens)
}

func TestTokenRoundTrip(t *testing.T) {
	exercise.Start(t, "5.2")
	clock := tokNewClock()
	tokens := tokNew(t, nil, clock)
	ctx := context.Background()
	ana := User{ID: 42, Name: "ana", Created: clock.Now()}

	token, c, err := tokens.Issue(ana)
	require.NoError(t, err, "Issue")
	assert.Equal(t, int64(42), c.UserID)
	assert.Equal(t, "ana", c.Name)
	assert.NotEmpty(t, c.ID, "every token has an ID (jti), the key of its revocation")
	wantExp := clock.Now().Add(tokTTL).Truncate(time.Second)
	assert.True(t, c.Expires.Equal(wantExp), "Expires is Issue's time plus the ttl, in whole seconds (%v), got %v", wantExp, c.Expires)

	got, err := tokens.Verify(ctx, token)
	require.NoError(t, err, "Verify of a token just issued")
	assert.Equal(t, c.UserID, got.UserID)
	assert.Equal(t, c.Name, got.Name)
	assert.Equal(t, c.ID, got.ID)
	assert.True(t, c.Expires.Equal(got.Expires), "Verify's Expires %v, Issue's %v", got.Expires, c.Expires)

	// What is inside: the registered claims of RFC 7519, section 4.1.
	p := tokSplit(t, token)
	assert.Equal(t, "HS256", p.Header["alg"], "the header's alg")
	assert.Equal(t, "42", p.Payload["sub"], `"sub" is the user's ID, as a string (RFC 7519, section 4.1.2)`)
	assert.Equal(t, "ana", p.Payload["name"])
	assert.Equal(t, c.ID, p.Payload["jti"], `"jti" is the token's ID`)
	assert.Equal(t, Issuer, p.Payload["iss"], `"iss" names who issued it`)
	assert.EqualValues(t, c.Expires.Unix(), p.Payload["exp"], `"exp" is the expiry in Unix seconds`)

	again, c2, err := tokens.Issue(ana)
	require.NoError(t, err)
	assert.NotEqual(t, c.ID, c2.ID, "two tokens never share an ID: revoking one must not revoke the other")
	assert.NotEqual(t, token, again)
}

func TestTokenExpires(t *testing.T) {
	exercise.Start(t, "5.2")
	clock := tokNewClock()
	tokens := tokNew(t, nil, clock)
	ctx := context.Background()
	token, c, err := tokens.Issue(User{ID: 1, Name: "ana"})
	require.NoError(t, err)

	clock.Advance(tokTTL - 2*time.Second)
	_, err = tokens.Verify(ctx, token)
	require.NoError(t, err, "a token two seconds before its expiry (%v, now %v)", c.Expires, clock.Now())

	clock.Advance(3 * time.Second)
	_, err = tokens.Verify(ctx, token)
	require.ErrorIs(t, err, ErrTokenExpired, "a token after its expiry (%v, now %v): Verify reads the clock from Tokens.Now", c.Expires, clock.Now())

	clock.Advance(24 * time.Hour)
	_, err = tokens.Verify(ctx, token)
	assert.ErrorIs(t, err, ErrTokenExpired, "a day later")
}

func TestTokenWithAChangedPayloadIsInvalid(t *testing.T) {
	exercise.Start(t, "5.2")
	clock := tokNewClock()
	tokens := tokNew(t, nil, clock)
	ctx := context.Background()
	token, _, err := tokens.Issue(User{ID: 7, Name: "ana"})
	require.NoError(t, err)
	p := tokSplit(t, token)
	header := strings.Split(token, ".")[0]

	changes := []struct {
		what   string
		change map[string]any
	}{
		{"another user's ID", map[string]any{"sub": "1"}},
		{"another name", map[string]any{"name": "admin"}},
		{"a later expiry", map[string]any{"exp": clock.Now().Add(365 * 24 * time.Hour).Unix()}},
		{"a field more", map[string]any{"admin": true}},
	}
	for _, tc := range changes {
		forged := header + "." + tokB64(t, tokWith(p.Payload, tc.change)) + "." + p.Sig
		_, err := tokens.Verify(ctx, forged)
		assert.ErrorIs(t, err, ErrTokenInvalid, "a token whose payload was changed to %s, the signature kept", tc.what)
	}
}

func TestTokenSignedWithAnotherKeyIsInvalid(t *testing.T) {
	exercise.Start(t, "5.2")
	clock := tokNewClock()
	tokens := tokNew(t, nil, clock)
	ctx := context.Background()
	token, _, err := tokens.Issue(User{ID: 7, Name: "ana"})
	require.NoError(t, err)
	p := tokSplit(t, token)

	otherKey := []byte("another key of thirty-two bytes!")
	forged := tokHMAC(t, sha256.New, otherKey, p.Header, tokWith(p.Payload, map[string]any{"name": "admin"}))
	_, err = tokens.Verify(ctx, forged)
	assert.ErrorIs(t, err, ErrTokenInvalid, "HS256 with another key")

	// A token from another server: same code, another key.
	other, err := NewTokens(usrOpenDB(t), otherKey, tokTTL)
	require.NoError(t, err)
	other.Now = clock.Now
	theirs, _, err := other.Issue(User{ID: 7, Name: "ana"})
	require.NoError(t, err)
	_, err = tokens.Verify(ctx, theirs)
	assert.ErrorIs(t, err, ErrTokenInvalid, "a token another key signed")

	// Our key, our algorithm, but not our issuer.
	foreign := tokHMAC(t, sha256.New, tokKey, p.Header, tokWith(p.Payload, map[string]any{"iss": "someone-else"}))
	_, err = tokens.Verify(ctx, foreign)
	assert.ErrorIs(t, err, ErrTokenInvalid, `a token with "iss" other than Issuer`)

	// Our key, but claims missing: no expiry means valid forever.
	for _, claim := range []string{"exp", "jti", "sub", "iss"} {
		missing := tokHMAC(t, sha256.New, tokKey, p.Header, tokWith(p.Payload, map[string]any{claim: nil}))
		_, err = tokens.Verify(ctx, missing)
		assert.ErrorIs(t, err, ErrTokenInvalid, "a token without %q, signed with the right key", claim)
	}

	// The same payload re-signed with the right key and HS256 is fine:
	// the forgeries above failed for what they changed.
	resigned := tokHMAC(t, sha256.New, tokKey, p.Header, p.Payload)
	_, err = tokens.Verify(ctx, resigned)
	assert.NoError(t, err, "the token's own header and payload, signed with HS256 and the right key")
}

func TestTokenAcceptsOnlyHS256(t *testing.T) {
	exercise.Start(t, "5.2")
	clock := tokNewClock()
	tokens := tokNew(t, nil, clock)
	ctx := context.Background()
	token, _, err := tokens.Issue(User{ID: 7, Name: "ana"})
	require.NoError(t, err)
	p := tokSplit(t, token)
	parts := strings.Split(token, ".")

	header := func(alg string) map[string]any { return tokWith(p.Header, map[string]any{"alg": alg}) }
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	rs256 := func() string {
		signing := tokB64(t, header("RS256")) + "." + parts[1]
		sum := sha256.Sum256([]byte(signing))
		sig, err := rsa.SignPKCS1v15(rand.Reader, rsaKey, crypto.SHA256, sum[:])
		require.NoError(t, err)
		return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
	}

	forgeries := []struct{ what, token string }{
		// RFC 7519, section 6: an "unsecured JWT" has alg "none" and an
		// empty signature. Accepting it means accepting anything.
		{`alg "none", no signature`, tokB64(t, header("none")) + "." + parts[1] + "."},
		{`alg "None", no signature`, tokB64(t, header("None")) + "." + parts[1] + "."},
		{`alg "none", the old signature kept`, tokB64(t, header("none")) + "." + parts[1] + "." + parts[2]},
		// Right key, but another HMAC: the header chose the algorithm.
		{"HS512 with the right key", tokHMAC(t, sha512.New, tokKey, header("HS512"), p.Payload)},
		{"HS384 with the right key", tokHMAC(t, sha512.New384, tokKey, header("HS384"), p.Payload)},
		// A header claiming RSA: a verifier that picks its algorithm from
		// the header would check this against a public key; one that
		// HMACs whatever it is told with its secret is "confused".
		{"RS256 signed with an RSA key", rs256()},
		{"RS256 header, HMAC-SHA256 signature with the right key", tokHMAC(t, sha256.New, tokKey, header("RS256"), p.Payload)},
		{"HS256 header, signature removed", parts[0] + "." + parts[1] + "."},
	}
	for _, f := range forgeries {
		_, err := tokens.Verify(ctx, f.token)
		assert.ErrorIs(t, err, ErrTokenInvalid, "%s: Verify accepts HS256 only, whatever the header says", f.what)
	}
}

func TestTokenMalformed(t *testing.T) {
	exercise.Start(t, "5.2")
	tokens := tokNew(t, nil, tokNewClock())
	ctx := context.Background()
	token, _, err := tokens.Issue(User{ID: 7, Name: "ana"})
	require.NoError(t, err)
	parts := strings.Split(token, ".")

	_, err = tokens.Verify(ctx, "")
	assert.ErrorIs(t, err, ErrTokenMissing, "an empty token")

	garbage := base64.RawURLEncoding.EncodeToString([]byte("not json"))
	malformed := []struct{ what, token string }{
		{"one part", "abc"},
		{"two parts", parts[0] + "." + parts[1]},
		{"four parts", token + ".abc"},
		{"characters outside base64url", "!!!.###.$$$"},
		{"a header that is not JSON", garbage + "." + parts[1] + "." + parts[2]},
		{"a payload that is not JSON", parts[0] + "." + garbage + "." + parts[2]},
		{"a payload that is not base64url", parts[0] + ".*" + parts[1][1:] + "." + parts[2]},
		{"a signature that is not base64url", parts[0] + "." + parts[1] + ".%%%"},
	}
	for _, m := range malformed {
		_, err := tokens.Verify(ctx, m.token)
		assert.ErrorIs(t, err, ErrTokenMalformed, "a token with %s: %q", m.what, m.token)
	}
}

func TestTokenRevoked(t *testing.T) {
	exercise.Start(t, "5.2")
	clock := tokNewClock()
	tokens := tokNew(t, nil, clock)
	ctx := context.Background()

	var (
		mu      sync.Mutex
		revoked []string
	)
	tokens.OnRevoke(func(c Claims) {
		mu.Lock()
		defer mu.Unlock()
		revoked = append(revoked, "first "+c.ID)
	})
	tokens.OnRevoke(func(c Claims) {
		mu.Lock()
		defer mu.Unlock()
		revoked = append(revoked, "second "+c.ID)
	})

	token, c, err := tokens.Issue(User{ID: 7, Name: "ana"})
	require.NoError(t, err)
	other, _, err := tokens.Issue(User{ID: 7, Name: "ana"})
	require.NoError(t, err)

	require.NoError(t, tokens.Revoke(ctx, c), "Revoke")
	_, err = tokens.Verify(ctx, token)
	assert.ErrorIs(t, err, ErrTokenRevoked, "a revoked token")
	_, err = tokens.Verify(ctx, other)
	assert.NoError(t, err, "another token of the same user (another device) stays valid")

	mu.Lock()
	assert.Equal(t, []string{"first " + c.ID, "second " + c.ID}, revoked,
		"every OnRevoke function is called once, in order, with the revoked token's claims")
	mu.Unlock()

	assert.NoError(t, tokens.Revoke(ctx, c), "revoking a token twice is not an error")
	_, err = tokens.Verify(ctx, token)
	assert.ErrorIs(t, err, ErrTokenRevoked)

	clock.Advance(tokTTL + time.Minute)
	_, err = tokens.Verify(ctx, token)
	assert.ErrorIs(t, err, ErrTokenExpired, "a revoked token that has expired since is refused for its expiry")
}

func TestTokenRevocationSurvivesARestart(t *testing.T) {
	exercise.Start(t, "5.2")
	path := filepath.Join(t.TempDir(), "chat.db")
	clock := tokNewClock()
	ctx := context.Background()

	open := func() *sql.DB {
		db, err := sql.Open("sqlite", path)
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Close() })
		return db
	}

	db := open()
	tokens := tokNew(t, db, clock)
	token, c, err := tokens.Issue(User{ID: 7, Name: "ana"})
	require.NoError(t, err)
	kept, _, err := tokens.Issue(User{ID: 8, Name: "bob"})
	require.NoError(t, err)
	require.NoError(t, tokens.Revoke(ctx, c))
	require.NoError(t, db.Close())

	// The process restarts: a new database handle, new Tokens, the same
	// key. A logout must not come undone.
	restarted := tokNew(t, open(), clock)
	_, err = restarted.Verify(ctx, token)
	assert.ErrorIs(t, err, ErrTokenRevoked, "a token revoked before the restart")
	_, err = restarted.Verify(ctx, kept)
	assert.NoError(t, err, "a token not revoked, after the restart")
}

func TestTokenRevocationsArePurgedWhenTheyExpire(t *testing.T) {
	exercise.Start(t, "5.2")
	db := usrOpenDB(t)
	clock := tokNewClock()
	tokens := tokNew(t, db, clock)
	ctx := context.Background()

	_, old, err := tokens.Issue(User{ID: 7, Name: "ana"})
	require.NoError(t, err)
	require.NoError(t, tokens.Revoke(ctx, old))
	assert.Contains(t, usrDBCells(t, db), old.ID, "a revoked token's ID is stored in the database")

	// Once the token has expired, Verify refuses it for that alone: its
	// row is dead weight, and the next Revoke clears it out.
	clock.Advance(tokTTL + time.Minute)
	_, recent, err := tokens.Issue(User{ID: 8, Name: "bob"})
	require.NoError(t, err)
	require.NoError(t, tokens.Revoke(ctx, recent))
	cells := usrDBCells(t, db)
	assert.NotContains(t, cells, old.ID, "the revocation of a token that has expired is deleted by the next Revoke")
	assert.Contains(t, cells, recent.ID, "the revocation of a token still valid is kept")
}
