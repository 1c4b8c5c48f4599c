package rawws

import "crypto/rand"

// maskKeys hands out masking keys. §5.3 asks for a fresh key per frame,
// "derived from a strong source of entropy", so that a script in a browser
// cannot choose the bytes that reach the wire (and poison a proxy's cache).
// The keys come from crypto/rand, read 64 keys at a time so that a client
// sending many small frames does not make a system call for each one.
type maskKeys struct {
	buf [256]byte
	off int // bytes of buf already handed out; 0 with an empty buf means "fill me"
	ok  bool
}

func (k *maskKeys) next() [4]byte {
	if !k.ok || k.off == len(k.buf) {
		// crypto/rand.Read never fails: on the platforms Go supports, the
		// runtime would rather crash than return predictable bytes.
		_, _ = rand.Read(k.buf[:])
		k.off, k.ok = 0, true
	}
	var key [4]byte
	copy(key[:], k.buf[k.off:k.off+4])
	k.off += 4
	return key
}
