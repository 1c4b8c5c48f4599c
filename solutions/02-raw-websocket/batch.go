package rawws

import (
	"net"
	"sync"
)

// Exercise 2.10: lesson 03's event server uses WriteMessages to send what
// has queued up for one connection in a single system call.

// A Message is one data message for WriteMessages.
type Message struct {
	Op   Opcode // OpText or OpBinary
	Data []byte
}

// batchCopyMax is the largest payload WriteMessages copies next to its
// header; a longer one goes out from where it is, as its own part of the
// writev.
const batchCopyMax = 512

// batchBufs lends WriteMessages the buffer it frames the batch in: a
// server writing batches to many connections needs only as many as write
// at the same time.
var batchBufs sync.Pool

// WriteMessages sends msgs in order, each as one message in a single frame,
// as that many WriteMessage calls would, and with no other message between
// them. A server's frames go out together, in one write or writev
// (net.Buffers): one system call for the lot instead of one per message. A
// client masks each frame and writes them one by one.
//
// An opcode other than OpText or OpBinary is an error, and then nothing is
// sent. It is safe to call from many goroutines at once.
func (c *Conn) WriteMessages(msgs []Message) error {
	for _, m := range msgs {
		if err := checkDataOpcode(m.Op); err != nil {
			return err
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	if err := c.beginMessage(); err != nil {
		return err
	}
	c.wmu.Lock()
	err := c.writeFrames(msgs)
	c.wmu.Unlock()
	<-c.msgSem
	return err
}

// writeFrames writes one final frame per message; c.wmu must be held.
func (c *Conn) writeFrames(msgs []Message) error {
	if !c.isServer || len(msgs) == 1 {
		for _, m := range msgs {
			if err := c.writeFrame(true, m.Op, m.Data); err != nil {
				return err
			}
		}
		return nil
	}
	if c.writeErr != nil {
		return c.writeErr
	}
	if c.closeSent.Load() {
		return errCloseSent
	}
	// Headers and small payloads go into buf, one after the other; a large
	// payload is cut in where it belongs. buf may move while it grows, so
	// the cuts are offsets until it is complete.
	type cut struct {
		at int
		p  []byte
	}
	var cuts []cut
	size := 0
	for _, m := range msgs {
		size += MaxHeaderLen
		if len(m.Data) <= batchCopyMax {
			size += len(m.Data)
		}
	}
	bp, _ := batchBufs.Get().(*[]byte)
	if bp == nil || cap(*bp) < size {
		bp = new([]byte)
		*bp = make([]byte, 0, size)
	}
	defer func() {
		*bp = (*bp)[:0]
		batchBufs.Put(bp)
	}()
	buf := (*bp)[:0]
	for _, m := range msgs {
		buf = AppendHeader(buf, Header{Fin: true, Opcode: m.Op, Length: int64(len(m.Data))})
		if len(m.Data) <= batchCopyMax {
			buf = append(buf, m.Data...)
		} else {
			cuts = append(cuts, cut{len(buf), m.Data})
		}
	}
	*bp = buf // what the pool gets back, should it have grown
	var err error
	if len(cuts) == 0 {
		_, err = c.nc.Write(buf)
	} else {
		iov := make(net.Buffers, 0, 2*len(cuts)+1)
		prev := 0
		for _, k := range cuts {
			iov = append(iov, buf[prev:k.at], k.p)
			prev = k.at
		}
		iov = append(iov, buf[prev:])
		_, err = iov.WriteTo(c.nc)
	}
	if err != nil {
		c.writeErr = err // part of a frame may have gone out
	}
	return err
}
