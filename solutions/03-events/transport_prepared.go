package events

import "github.com/gorilla/websocket"

// gorillaTransport is a preparer: a broadcast's text frame becomes one
// websocket.PreparedMessage, framed once and written to every recipient as
// it is, without a write buffer or a copy per connection.

func (t *gorillaTransport) prepare(text []byte) any {
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, text)
	if err != nil {
		return nil // never for an uncompressed text message; write it the usual way
	}
	return pm
}

func (t *gorillaTransport) writePrepared(p any) (bool, error) {
	pm, ok := p.(*websocket.PreparedMessage)
	if !ok {
		return false, nil
	}
	return true, t.c.WritePreparedMessage(pm)
}
