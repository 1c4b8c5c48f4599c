// Command workbook is the runner of the WebSocket Workbook. Run it from
// anywhere inside the workbook:
//
//	go run ./cmd/workbook            where you are, and what to do next
//	go run ./cmd/workbook check 1.3  run an exercise's tests (or a lesson's: 1, 01, 01-polling)
//	go run ./cmd/workbook hint 1.3   one more hint (--all for every hint)
//	go run ./cmd/workbook watch 1    check again whenever a .go file changes
//	go run ./cmd/workbook grade      grade against the canonical tests
//	go run ./cmd/workbook verify     prove the book consistent (maintainers, CI)
//
// The work is done by internal/runner; this file reads flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/websocket-workbook/workbook/internal/canon"
	"github.com/websocket-workbook/workbook/internal/catalog"
	"github.com/websocket-workbook/workbook/internal/runner"
)

const usage = `The WebSocket Workbook runner.

Usage:

	go run ./cmd/workbook [command] [arguments]

Commands:

	status [--all]         where you are: each lesson's points, the current lesson's
	                       exercises (every lesson's with --all), and the next step
	                       (the default)
	check [LESSON|EX]      run the tests, grouped by exercise: all lessons, a lesson
	                       (1, 01, 01-polling) or an exercise (1.3)
	hint EX [--all]        show one more hint for an exercise, or all of them
	watch [LESSON|EX] [--manual]
	                       check, then check again whenever a .go file changes
	                       (or when you press Enter)
	grade [--lesson N] [--submission DIR] [--gradescope FILE] [--junit FILE] [--timeout D]
	                       grade against the canonical tests, each exercise alone
	verify                 check that catalogue, stubs, tests, solutions and texts
	                       agree (for maintainers and CI)
	verify --mistakes [LESSON]
	                       check only that the tests catch every mistake kept in
	                       solutions/LESSON/mistakes (see docs/instructors.md)
	help                   show this text

Output has colors when it goes to a terminal and NO_COLOR is not set.
`

func main() {
	os.Exit(run(os.Args[1:]))
}

// run executes a command and returns the exit status: 0 for success, 1 when
// tests failed or checks found gaps, 2 for usage errors and failures of the
// runner itself.
func run(args []string) int {
	cmd := "status"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	if cmd == "help" || cmd == "-h" || cmd == "--help" || cmd == "-help" {
		fmt.Print(usage)
		return 0
	}

	wd, err := os.Getwd()
	if err != nil {
		return fail(err)
	}
	root, err := runner.FindRoot(wd, runner.ModulePath)
	if err != nil {
		return fail(err)
	}
	w := &runner.Workbook{
		Root:     root,
		Book:     catalog.Workbook,
		Canon:    canon.FS,
		CanonDir: "internal/canon/testdata",
		Out:      os.Stdout,
		Color:    colorful(os.Stdout),
	}
	if cmd != "verify" {
		// A handout may hold only the lessons handed out so far.
		w.Book, w.NotHandedOut = runner.HandedOut(root, w.Book)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	fs.Usage = func() { fmt.Fprint(os.Stderr, usage) }

	switch cmd {
	case "status":
		all := fs.Bool("all", false, "list the exercises of every lesson, not only the current one")
		if err := parse(fs, args, 0, 0, "status [--all]"); err != nil {
			return usageError(err)
		}
		return exit(0, w.Status(ctx, *all))

	case "check":
		if err := parse(fs, args, 0, 1, "check [LESSON|EXERCISE]"); err != nil {
			return usageError(err)
		}
		ok, err := w.Check(ctx, fs.Arg(0))
		return exit(failed(ok), err)

	case "hint":
		all := fs.Bool("all", false, "show every hint of the exercise")
		if err := parse(fs, args, 1, 1, "hint EXERCISE [--all]"); err != nil {
			return usageError(err)
		}
		return exit(0, w.Hint(fs.Arg(0), *all))

	case "watch":
		manual := fs.Bool("manual", false, "do not watch files: run again only when Enter is pressed")
		if err := parse(fs, args, 0, 1, "watch [LESSON|EXERCISE] [--manual]"); err != nil {
			return usageError(err)
		}
		return exit(0, w.Watch(ctx, fs.Arg(0), runner.WatchOptions{Manual: *manual, Stdin: os.Stdin}))

	case "grade":
		var opts runner.GradeOptions
		fs.StringVar(&opts.Lesson, "lesson", "", "grade only this lesson (1, 01 or 01-polling)")
		fs.StringVar(&opts.Submission, "submission", "", "the checkout to grade (default: this one)")
		fs.StringVar(&opts.Gradescope, "gradescope", "", "write Gradescope's results.json to this file")
		fs.StringVar(&opts.JUnit, "junit", "", "write a JUnit XML report to this file")
		fs.DurationVar(&opts.Timeout, "timeout", 5*time.Minute, "go test -timeout for each exercise")
		if err := parse(fs, args, 0, 0, "grade [--lesson N] [--submission DIR] [--gradescope FILE] [--junit FILE] [--timeout D]"); err != nil {
			return usageError(err)
		}
		if _, err := w.Grade(ctx, opts); err != nil {
			return fail(err)
		}
		return 0

	case "verify":
		mistakes := fs.Bool("mistakes", false, "check only that the tests catch the mistakes kept with the solutions")
		if err := parse(fs, args, 0, 1, "verify [--mistakes [LESSON]]"); err != nil {
			return usageError(err)
		}
		if *mistakes {
			ok, err := w.VerifyMistakes(ctx, fs.Arg(0))
			return exit(failed(ok), err)
		}
		if fs.NArg() > 0 {
			return usageError(fmt.Errorf("verify checks the whole book; only --mistakes takes a lesson"))
		}
		ok, err := w.Verify(ctx)
		return exit(failed(ok), err)
	}
	return usageError(fmt.Errorf("unknown command %q", cmd))
}

// parse parses flags and checks the number of arguments left. Flags may
// come before or after the argument: "hint 1.1 --all" works.
func parse(fs *flag.FlagSet, args []string, minArgs, maxArgs int, synopsis string) error {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if err := fs.Parse(positional); err != nil {
		return err
	}
	if n := fs.NArg(); n < minArgs || n > maxArgs {
		return fmt.Errorf("usage: go run ./cmd/workbook %s", synopsis)
	}
	return nil
}

func failed(ok bool) int {
	if ok {
		return 0
	}
	return 1
}

// exit is status unless err is set.
func exit(status int, err error) int {
	if err != nil {
		return fail(err)
	}
	return status
}

func fail(err error) int {
	if errors.Is(err, context.Canceled) {
		return 130
	}
	fmt.Fprintln(os.Stderr, "workbook:", err)
	return 2
}

func usageError(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(os.Stderr, "workbook: %v\nRun `go run ./cmd/workbook help` for usage.\n", err)
	return 2
}

// colorful reports whether output to f may use colors: f is a terminal and
// NO_COLOR (https://no-color.org) is not set.
func colorful(f *os.File) bool {
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
