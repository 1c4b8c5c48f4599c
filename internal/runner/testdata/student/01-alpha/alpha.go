// Package alpha is the fixture's first lesson as a learner left it: 1.1 done,
// 1.2 wrong, 1.3 not started, 1.4 careless enough to panic.
package alpha

import "github.com/websocket-workbook/workbook/internal/exercise"

// Add returns a+b.
func Add(a, b int) (int, error) { return a + b, nil }

// Mul returns a*b.
func Mul(a, b int) (int, error) { return a + b, nil }

// Div returns a/b, or an error when b is zero.
func Div(a, b int) (int, error) {
	return 0, exercise.TODO("1.3")
}

// Index returns s[i], or an error when i is out of range.
func Index(s []int, i int) (int, error) { return s[i], nil }
