package rawws

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

// RFC 6455 §1.3 works one example through: the key "dGhlIHNhbXBsZSBub25jZQ=="
// concatenated with the GUID, hashed with SHA-1 and encoded in base64 gives
// "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=". §4.2.2 repeats it.
func TestAcceptKeyMatchesRFC6455Example(t *testing.T) {
	exercise.Start(t, "2.1")
	require.Equal(t, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="),
		"AcceptKey of the RFC 6455 §1.3 example key")
}

// The accept value is base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
// for any key: the key is used as the client sent it, not decoded first
// (§4.2.2 step 5.4).
func TestAcceptKeyIsBase64OfSHA1OfKeyAndGUID(t *testing.T) {
	exercise.Start(t, "2.1")
	for _, tc := range []struct{ key, accept string }{
		{"dGhlIHNhbXBsZSBub25jZQ==", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="},
		{"x3JJHMbDL1EzLkh9GBhXDw==", "HSmrc0sMlYUkAGmm5OPpG2HaGWk="},
		{"AQIDBAUGBwgJCgsMDQ4PEA==", "C/0nmHhBztSRGR1CwL6Tf4ZjwpY="},
		{"", "Kfh9QIsMVZcl6xEPYxPHzW8SZ8w="}, // the GUID alone: no special case
	} {
		assert.Equal(t, tc.accept, AcceptKey(tc.key), "AcceptKey(%q) (RFC 6455 §4.2.2 step 5.4)", tc.key)
	}
}
