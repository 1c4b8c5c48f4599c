// Package beta is the fixture's second lesson as a learner left it: started,
// and not compiling.
package beta

// Greet returns "Hello, <name>!".
func Greet(name string) (string, error) {
	return "Hello, " + name + 1, nil
}
