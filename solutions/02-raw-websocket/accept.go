package rawws

import (
	"crypto/sha1"
	"encoding/base64"
)

// acceptGUID is the fixed string RFC 6455 §1.3 appends to every key.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// AcceptKey computes the Sec-WebSocket-Accept value for a
// Sec-WebSocket-Key (RFC 6455 §1.3, §4.2.2 step 5.4): the base64 encoding of
// the SHA-1 hash of the key followed by acceptGUID.
//
// For the key "dGhlIHNhbXBsZSBub25jZQ==" it returns
// "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".
//
// The hash proves only that the server read this handshake as a WebSocket
// handshake (a cache or a plain HTTP server could not produce it); it is not
// a security measure, which is why SHA-1 is fine here.
func AcceptKey(key string) string {
	h := sha1.New()
	h.Write([]byte(key))
	h.Write([]byte(acceptGUID))
	var sum [sha1.Size]byte
	return base64.StdEncoding.EncodeToString(h.Sum(sum[:0]))
}
