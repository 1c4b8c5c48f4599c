//go:build !unix

package rawws

import "os/exec"

// startBrowser leaves the command as it is: the context kills the browser.
func startBrowser(*exec.Cmd) {}
