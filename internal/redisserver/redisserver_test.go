package redisserver

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/websocket-workbook/workbook/internal/peer"
)

func TestStartStopAndRestart(t *testing.T) {
	rs := Start(t)
	require.NoError(t, ping(rs.Addr()), "a started server answers PING")
	assert.Equal(t, "redis://"+rs.Addr(), rs.URL())
	rs.Stop()
	assert.Error(t, ping(rs.Addr()), "a stopped server is gone")
	rs.Stop() // again: nothing happens
	rs.Restart()
	require.NoError(t, ping(rs.Addr()), "a restarted server answers on the same port")
}

func TestEachTestGetsItsOwnServer(t *testing.T) {
	a, b := Start(t), Start(t)
	assert.NotEqual(t, a.Addr(), b.Addr())
	a.Stop()
	require.NoError(t, ping(b.Addr()), "stopping one leaves the other running")
}

// A recorder is a peer.TB that records instead of skipping or failing.
type recorder struct{ skipped, failed string }

func (r *recorder) Helper()                      {}
func (r *recorder) Skipf(f string, args ...any)  { r.skipped = fmt.Sprintf(f, args...) }
func (r *recorder) Fatalf(f string, args ...any) { r.failed = fmt.Sprintf(f, args...) }

var _ peer.TB = (*recorder)(nil)

func TestMissingRedisSkipsOutsideCIAndFailsInCI(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no redis-server
	t.Setenv("CI", "")
	var r recorder
	assert.False(t, Available(&r))
	assert.Empty(t, r.failed)
	assert.Contains(t, r.skipped, "apt-get install -y redis-server", "the skip says how to install it")

	t.Setenv("CI", "true")
	r = recorder{}
	assert.False(t, Available(&r))
	assert.Empty(t, r.skipped, "with CI=true a missing redis-server must not be skipped")
	assert.Contains(t, r.failed, "redis-server is required in CI")
}
