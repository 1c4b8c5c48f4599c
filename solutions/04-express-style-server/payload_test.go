package server

import (
	"bytes"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/exercise"
	events "github.com/websocket-workbook/workbook/solutions/03-events"
)

// The long-polling payload (engine.io-protocol v4, "Packet encoding", HTTP
// long-polling): packets joined by the record separator "\x1e"; a binary
// packet is "b" followed by its bytes in standard base64. The expected
// bodies are written out by hand from the protocol document.

func TestPayloadEncode(t *testing.T) {
	exercise.Start(t, "4.4")
	for _, tc := range []struct {
		name    string
		packets []Frame
		want    string
	}{
		{"one text packet", []Frame{{Data: []byte("4hello")}}, "4hello"},
		{"open packet", []Frame{{Data: []byte(`0{"sid":"x1"}`)}}, `0{"sid":"x1"}`},
		{"several, in order", []Frame{{Data: []byte("4hello")}, {Data: []byte("2")}, {Data: []byte(`42["a",1]`)}}, "4hello\x1e2\x1e42[\"a\",1]"},
		{"binary", []Frame{{Data: []byte{1, 2, 3, 4}, Binary: true}}, "bAQIDBA=="},
		{"empty binary", []Frame{{Data: nil, Binary: true}}, "b"},
		{"text then binary", []Frame{{Data: []byte(`451-["up",{"_placeholder":true,"num":0}]`)}, {Data: []byte{0xff, 0, 0x1e}, Binary: true}},
			"451-[\"up\",{\"_placeholder\":true,\"num\":0}]\x1eb/wAe"},
		{"a binary packet holding the separator", []Frame{{Data: []byte{0x1e}, Binary: true}, {Data: []byte("6")}}, "bHg==\x1e6"},
		{"no packets", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, string(EncodePayload(tc.packets)))
		})
	}
}

func TestPayloadDecode(t *testing.T) {
	exercise.Start(t, "4.4")
	for _, tc := range []struct {
		name string
		body string
		want []Frame
	}{
		{"one text packet", "4hello", []Frame{{Data: []byte("4hello")}}},
		{"CONNECT", "40", []Frame{{Data: []byte("40")}}},
		{"pong", "3", []Frame{{Data: []byte("3")}}},
		{"several, in order", "42[\"a\",1]\x1e3\x1e42[\"b\",2]", []Frame{{Data: []byte(`42["a",1]`)}, {Data: []byte("3")}, {Data: []byte(`42["b",2]`)}}},
		{"binary", "bAQIDBA==", []Frame{{Data: []byte{1, 2, 3, 4}, Binary: true}}},
		{"empty binary", "b", []Frame{{Data: []byte{}, Binary: true}}},
		{"text then its attachment", "451-[\"up\",{\"_placeholder\":true,\"num\":0}]\x1eb/wAe",
			[]Frame{{Data: []byte(`451-["up",{"_placeholder":true,"num":0}]`)}, {Data: []byte{0xff, 0, 0x1e}, Binary: true}}},
		{"UTF-8 text", `42["msg","héllo ✓"]`, []Frame{{Data: []byte(`42["msg","héllo ✓"]`)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodePayload([]byte(tc.body))
			require.NoError(t, err)
			require.Len(t, got, len(tc.want))
			for i := range tc.want {
				assert.Equal(t, tc.want[i].Binary, got[i].Binary, "packet %d: binary", i)
				assert.Equal(t, string(tc.want[i].Data), string(got[i].Data), "packet %d: data", i)
			}
		})
	}
}

func TestPayloadDecodeMalformed(t *testing.T) {
	exercise.Start(t, "4.4")
	for _, tc := range []struct{ name, body string }{
		{"empty body", ""},
		{"only a separator", "\x1e"},
		{"separator at the end", "4a\x1e"},
		{"separator at the start", "\x1e4a"},
		{"empty packet in the middle", "4a\x1e\x1e4b"},
		{"unknown type", "7x"},
		{"not a type digit", "hello"},
		{"bad packet after good ones", "40\x1e42[\"a\"]\x1ex"},
		{"bad base64", "b!!!!"},
		{"base64 cut short", "bAQIDBA="},
		{"base64 without padding", "bAQIDBA"},
		{"invalid UTF-8", "42[\"\xff\"]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodePayload([]byte(tc.body))
			require.Error(t, err, "%q is not a valid payload", tc.body)
			assert.True(t, errors.Is(err, events.ErrBadPacket), "the error wraps events.ErrBadPacket: %v", err)
			assert.Empty(t, got, "a malformed payload gives no packets at all")
		})
	}
}

// FuzzDecodePayload feeds DecodePayload arbitrary bodies: it must never
// panic, must reject what is not a payload, and what it accepts must
// survive EncodePayload and DecodePayload again unchanged.
func FuzzDecodePayload(f *testing.F) {
	exercise.Start(f, "4.4")
	for _, seed := range []string{
		"4hello", "40", "3", "2probe", "42[\"a\",1]\x1e3", "bAQIDBA==", "b", "451-[\"up\",{\"_placeholder\":true,\"num\":0}]\x1eb/wAe",
		"", "\x1e", "4a\x1e\x1e4b", "b!!", "9", "42[\"\xff\"]", "b\r\nAQ==",
	} {
		f.Add([]byte(seed))
	}
	if got, err := DecodePayload([]byte("40\x1ebAQ==")); err != nil || len(got) != 2 {
		f.Fatalf(`DecodePayload("40\x1ebAQ==") = %v, %v; want two packets`, got, err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		orig := bytes.Clone(body)
		frames, err := DecodePayload(body)
		if err != nil {
			if !errors.Is(err, events.ErrBadPacket) {
				t.Fatalf("DecodePayload(%q): error %v does not wrap events.ErrBadPacket", body, err)
			}
			if frames != nil {
				t.Fatalf("DecodePayload(%q) failed but returned packets %v", body, frames)
			}
			return
		}
		if len(frames) != bytes.Count(body, []byte{0x1e})+1 {
			t.Fatalf("DecodePayload(%q): %d packets for %d separators", body, len(frames), bytes.Count(body, []byte{0x1e}))
		}
		for i, fr := range frames {
			if fr.Binary {
				continue
			}
			if len(fr.Data) == 0 || fr.Data[0] < '0' || fr.Data[0] > '6' || !utf8.Valid(fr.Data) {
				t.Fatalf("DecodePayload(%q): packet %d %q is not a text Engine.IO packet", body, i, fr.Data)
			}
			if bytes.IndexByte(fr.Data, 0x1e) >= 0 {
				t.Fatalf("DecodePayload(%q): packet %d %q contains the separator", body, i, fr.Data)
			}
		}
		again, err := DecodePayload(EncodePayload(frames))
		if err != nil {
			t.Fatalf("DecodePayload(EncodePayload(DecodePayload(%q))): %v", body, err)
		}
		if len(again) != len(frames) {
			t.Fatalf("round trip of %q: %d packets, then %d", body, len(frames), len(again))
		}
		for i := range frames {
			if again[i].Binary != frames[i].Binary || !bytes.Equal(again[i].Data, frames[i].Data) {
				t.Fatalf("round trip of %q: packet %d was %+v, is %+v", body, i, frames[i], again[i])
			}
		}
		if !bytes.Equal(body, orig) {
			t.Fatalf("DecodePayload changed its input")
		}
	})
}
