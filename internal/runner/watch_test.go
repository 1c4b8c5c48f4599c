package runner

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeClock hands out timers the test fires by hand.
type fakeClock struct {
	mu     sync.Mutex
	timers []chan time.Time
	armed  chan time.Duration // one value per timer started
}

func newFakeClock() *fakeClock { return &fakeClock{armed: make(chan time.Duration, 100)} }

func (c *fakeClock) after(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.timers = append(c.timers, ch)
	c.armed <- d
	return ch
}

func (c *fakeClock) fire(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.timers[i] <- time.Time{}
}

// within waits for a value from ch, failing the test after a deadline.
func within[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("timed out")
		var zero T
		return zero
	}
}

func TestRerunLoopDebouncesChangesAndRunsOnEnter(t *testing.T) {
	changes := make(chan string)
	enter := make(chan struct{})
	runs := make(chan int, 100)
	clock := newFakeClock()
	n := 0
	loop := rerunLoop{
		changes: changes,
		enter:   enter,
		delay:   300 * time.Millisecond,
		after:   clock.after,
		run:     func() { n++; runs <- n },
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { loop.loop(ctx); close(done) }()

	assert.Equal(t, 1, within(t, runs), "the tests run once at the start")

	// A burst of three changes: each restarts the wait.
	for _, f := range []string{"a.go", "b.go", "a.go"} {
		changes <- f
		assert.Equal(t, 300*time.Millisecond, within(t, clock.armed))
	}
	clock.fire(0) // stale timers are ignored
	clock.fire(1)
	clock.fire(2) // the last one runs the tests
	assert.Equal(t, 2, within(t, runs))

	// Enter runs at once, and cancels a pending wait.
	changes <- "c.go"
	within(t, clock.armed)
	enter <- struct{}{}
	assert.Equal(t, 3, within(t, runs))
	clock.fire(3)
	enter <- struct{}{} // the loop is past the stale timer when this is taken
	assert.Equal(t, 4, within(t, runs))

	cancel()
	within(t, done)
	assert.Empty(t, runs, "no run beyond the ones counted")
}

func TestReadEnterTurnsLinesIntoRuns(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	enter := readEnter(context.Background(), r)
	_, err = w.WriteString("\n\n")
	require.NoError(t, err)
	within(t, enter)
	within(t, enter)
	require.NoError(t, w.Close())
	_, ok := <-enter
	assert.False(t, ok, "closed at the end of input")
}

func TestTreeWatcherReportsGoFilesInNewDirectories(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tw, err := watchTrees(ctx, []string{dir})
	require.NoError(t, err)
	defer tw.Close()

	// next is the next change that is not the one before it: writing a file
	// reports it once for its creation and once per write.
	last := ""
	next := func() string {
		t.Helper()
		for {
			if name := within(t, tw.changes); name != last {
				last = name
				return name
			}
		}
	}

	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.md"), []byte("x"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "log.go"), []byte("package p"), 0o644))
	assert.Equal(t, filepath.Join(dir, "log.go"), next(), "a .md file is not a change")

	// A directory made after the start is watched too; a file written into
	// it before its watch began is reported all the same.
	sub := filepath.Join(dir, "sub")
	require.NoError(t, os.Mkdir(sub, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(sub, "x.go"), []byte("package sub"), 0o644))
	assert.Equal(t, filepath.Join(sub, "x.go"), next())
}
