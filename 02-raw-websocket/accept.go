package rawws

import "github.com/websocket-workbook/workbook/internal/exercise"

// acceptGUID is the fixed string RFC 6455 §1.3 appends to every key.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// AcceptKey computes the Sec-WebSocket-Accept value for a
// Sec-WebSocket-Key (RFC 6455 §1.3, §4.2.2 step 5.4): the base64 encoding of
// the SHA-1 hash of the key followed by acceptGUID.
//
// For the key "dGhlIHNhbXBsZSBub25jZQ==" it returns
// "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".
func AcceptKey(key string) string {
	_ = exercise.TODO("2.1")
	return ""
}
