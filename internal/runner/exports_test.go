package runner

import (
	"go/parser"
	"go/token"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFileAPIListsWhatAPackageExports(t *testing.T) {
	t.Parallel()
	const src = `package p

import "net/http"

type Options struct {
	Interval, Timeout int
	Check func(r *http.Request) bool
	hidden string
	http.Handler
}

type Upgrader interface {
	Upgrade(w http.ResponseWriter, r *http.Request) (Transport, error)
	hidden()
}

type Transport = interface{ Close() error }
type List[T any] []T
type Pair[K comparable, V any] struct{ Key K; Value V }

type conn struct{ Public int }

func (c *conn) Exported() {}
func (l List[T]) Len() int { return len(l) }
func (o *Options) Set(name string, values ...string) (ok bool, err error) { return }
func New(opts Options, n, m int) *Options { return nil }
func helper() {}

const Default, other = 1, 2
var ErrClosed error
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, 0)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{
		"type Options struct",
		"field Options.Interval int",
		"field Options.Timeout int",
		"field Options.Check func(*http.Request) bool",
		"field Options.Handler http.Handler",
		"type Upgrader interface",
		"method Upgrader.Upgrade(http.ResponseWriter, *http.Request) (Transport, error)",
		"type Transport = interface",
		"method Transport.Close() error",
		"type List[T any] []T",
		"method (List[T]) Len() int",
		"type Pair[K comparable, V any] struct",
		"field Pair.Key K",
		"field Pair.Value V",
		"method (*Options) Set(string, ...string) (bool, error)",
		"func New(Options, int, int) *Options",
		"const Default",
		"var ErrClosed",
	}, fileAPI(fset, f))
}
