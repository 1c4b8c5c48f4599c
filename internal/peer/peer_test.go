package peer

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

// recorder is a TB that remembers whether the test was skipped or failed.
type recorder struct {
	skipped, failed string
}

func (r *recorder) Helper()                      {}
func (r *recorder) Skipf(f string, args ...any)  { r.skipped = fmt.Sprintf(f, args...) }
func (r *recorder) Fatalf(f string, args ...any) { r.failed = fmt.Sprintf(f, args...) }

func TestMissingPeerSkipsOutsideCI(t *testing.T) {
	t.Setenv("CI", "")
	var r recorder
	got := find(&r, "a peer", "install it", "no-such-program-in-the-workbook")
	assert.Empty(t, got)
	assert.Empty(t, r.failed, "outside CI a missing peer must not fail the test")
	assert.Contains(t, r.skipped, "a peer not found; install it")
}

func TestMissingPeerFailsInCI(t *testing.T) {
	for _, v := range []string{"true", "1"} {
		t.Setenv("CI", v)
		var r recorder
		find(&r, "a peer", "install it", "no-such-program-in-the-workbook")
		assert.Empty(t, r.skipped, "CI=%s: a missing peer must not be skipped", v)
		assert.Contains(t, r.failed, "a peer is required in CI and was not found; install it")
	}
}

func TestPresentPeerIsFound(t *testing.T) {
	var r recorder
	got := find(&r, "a shell", "install one", "no-such-program-in-the-workbook", "sh")
	assert.NotEmpty(t, got)
	assert.Empty(t, r.skipped)
	assert.Empty(t, r.failed)
}
