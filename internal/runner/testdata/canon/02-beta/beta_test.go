package beta

import (
	"testing"

	"github.com/websocket-workbook/workbook/internal/exercise"
)

func TestGreet(t *testing.T) {
	exercise.Start(t, "2.1")
	if got, err := Greet("Ada"); err != nil || got != "Hello, Ada!" {
		t.Fatalf("Greet(%q) = %q, %v; want %q, nil", "Ada", got, err, "Hello, Ada!")
	}
}
