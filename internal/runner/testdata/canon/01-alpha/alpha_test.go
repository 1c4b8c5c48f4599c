package alpha

import (
	"testing"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

func TestAdd(t *testing.T) {
	exercise.Start(t, "1.1")
	if got, err := Add(2, 3); err != nil || got != 5 {
		t.Fatalf("Add(2, 3) = %d, %v; want 5, nil", got, err)
	}
}

// TestIndex panics against a careless solution, so the tests after it in
// this file do not run in the same test binary.
func TestIndex(t *testing.T) {
	exercise.Start(t, "1.4")
	if got, err := Index([]int{7}, 0); err != nil || got != 7 {
		t.Fatalf("Index([7], 0) = %d, %v; want 7, nil", got, err)
	}
	if _, err := Index([]int{7}, 5); err == nil {
		t.Fatal("Index([7], 5) returned no error")
	}
}

func TestMul(t *testing.T) {
	exercise.Start(t, "1.2")
	t.Run("small", func(t *testing.T) {
		if got, err := Mul(2, 3); err != nil || got != 6 {
			t.Errorf("Mul(2, 3) = %d, %v; want 6, nil", got, err)
		}
	})
	t.Run("zero", func(t *testing.T) {
		if got, err := Mul(0, 3); err != nil || got != 0 {
			t.Errorf("Mul(0, 3) = %d, %v; want 0, nil", got, err)
		}
	})
}

func TestDiv(t *testing.T) {
	exercise.Start(t, "1.3")
	if got, err := Div(6, 3); err != nil || got != 2 {
		t.Fatalf("Div(6, 3) = %d, %v; want 2, nil", got, err)
	}
	if _, err := Div(1, 0); err == nil {
		t.Fatal("Div(1, 0) returned no error")
	}
}

func TestAddNegative(t *testing.T) {
	exercise.Start(t, "1.1")
	if got, err := Add(-2, -3); err != nil || got != -5 {
		t.Fatalf("Add(-2, -3) = %d, %v; want -5, nil", got, err)
	}
}

// BenchmarkAdd is not a test: the runner ignores it.
func BenchmarkAdd(b *testing.B) {
	for b.Loop() {
		_, _ = Add(1, 2)
	}
}
