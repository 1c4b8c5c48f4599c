// Package peer finds the external programs that interop and browser tests
// drive, and decides what a test does when one is missing.
//
// The workbook tests its code against real, independent implementations:
// Node running the npm socket.io-client and ws packages, and headless
// Chromium's own WebSocket. A learner's laptop may have neither, and a
// learner should still be able to run `go test ./...`; CI must never pass by
// skipping. So the rule is:
//
//   - outside CI, a test whose peer is missing is skipped, and the skip
//     message says how to install it;
//   - in CI (the environment variable CI is "true" or "1", as CI services and
//     .ci/run set it) the same test fails.
//
// A test asks for its peer at the top:
//
//	node := peer.NodePackages(t, "socket.io-client") // node, with the npm packages installed
//	chrome := peer.Chromium(t)                       // path of a Chromium or Chrome binary
//
// "At the top" matters. A test that starts a server, registers a leak check
// or opens a database before it finds its peer missing leaves those behind
// when it skips, and the leak check turns the skip into a failure. So a test
// names every peer it needs first, in one call per peer, before it starts
// anything; the harnesses (nodepeer, loadgen, browser) check again when they
// start their process, which costs a stat.
package peer

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// InCI reports whether the tests run in CI, where a missing peer is a
// failure rather than a skip.
func InCI() bool {
	switch os.Getenv("CI") {
	case "true", "TRUE", "1", "yes":
		return true
	}
	return false
}

// TB is the part of testing.TB the package needs; *testing.T satisfies it.
type TB interface {
	Helper()
	Skipf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// Missing reports a peer that is not there: it skips the test, or fails it
// in CI. what names the peer; install says how to get it.
func Missing(t TB, what, install string) {
	t.Helper()
	if InCI() {
		t.Fatalf("%s is required in CI and was not found; %s", what, install)
		return
	}
	t.Skipf("skipping: %s not found; %s (with CI=true this is a failure)", what, install)
}

// Node returns the path of the node binary (Node.js 20 or later), or skips
// or fails the test as Missing does.
func Node(t TB) string {
	t.Helper()
	return find(t, "Node.js", "install Node.js 20 or later (https://nodejs.org, or your package manager), then run `npm ci` at the module root", "node")
}

// NodePackages returns the path of the node binary after checking that each
// npm package in pkgs is installed in node_modules at the module root, where
// `npm ci` puts them. When Node or a package is missing it skips or fails
// the test as Missing does, naming every package that is missing, and
// returns "".
func NodePackages(t TB, pkgs ...string) string {
	t.Helper()
	root, err := ModuleRoot()
	if err != nil {
		t.Fatalf("peer: finding the module root (where package.json and node_modules are): %v", err)
		return ""
	}
	return NodePackagesIn(t, root, pkgs...)
}

// NodePackagesIn is NodePackages with the packages looked for in
// root/node_modules.
func NodePackagesIn(t TB, root string, pkgs ...string) string {
	t.Helper()
	node := Node(t)
	if node == "" {
		return ""
	}
	if missing := missingPackages(root, pkgs); len(missing) > 0 {
		Missing(t, fmt.Sprintf("the npm package(s) %s (in %s)", strings.Join(missing, ", "), filepath.Join(root, "node_modules")),
			fmt.Sprintf("run `npm ci` at the module root (%s)", root))
		return ""
	}
	return node
}

// missingPackages returns those of pkgs that root/node_modules lacks.
func missingPackages(root string, pkgs []string) []string {
	var missing []string
	for _, pkg := range pkgs {
		if _, err := os.Stat(filepath.Join(root, "node_modules", pkg, "package.json")); err != nil {
			missing = append(missing, pkg)
		}
	}
	return missing
}

// Chromium returns the path of a Chromium or Chrome binary, or skips or
// fails the test as Missing does. The environment variable CHROMIUM, when
// set, names the binary to use.
func Chromium(t TB) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return find(t, "Chromium (from $CHROMIUM)", "set CHROMIUM to a Chromium or Chrome binary", p)
	}
	return find(t, "Chromium", "install it (Debian/Ubuntu: `apt-get install -y chromium`) or set CHROMIUM to a Chrome binary",
		"chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
}

// RedisServer returns the path of Redis's redis-server binary (lesson 06's
// cluster runs on a real Redis), or skips or fails the test as Missing does.
func RedisServer(t TB) string {
	t.Helper()
	return find(t, "redis-server", "install it (Debian/Ubuntu: `apt-get install -y redis-server`)", "redis-server")
}

// find returns the first of names that resolves to an executable.
func find(t TB, what, install string, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	Missing(t, what, install)
	return ""
}

// ModuleRoot returns the directory of the go.mod at or above the working
// directory. That is where package.json lies and where `npm ci` puts
// node_modules, so the harnesses that run Node scripts look for the npm
// packages there.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no go.mod in %s or above it", dir)
		}
		d = parent
	}
}
