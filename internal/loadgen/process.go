package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// childEnv is the environment variable that turns a process into a swarm
// child: it holds the Config as JSON.
const childEnv = "WORKBOOK_LOADGEN_SWARM"

// init turns the process into a swarm child when childEnv is set, before
// the program's own main (a test binary's, usually) starts: the process
// then serves the swarm over stdin and stdout, and exits. In any other
// process it does nothing.
func init() {
	if cfg := os.Getenv(childEnv); cfg != "" {
		os.Exit(child(cfg, os.Stdin, os.Stdout))
	}
}

// The child's protocol: one JSON object a line each way.
//
//	child → parent, first: {"kind":"connected","clients":N,"ms":M} or {"kind":"error","message":"..."}
//	parent → child: {"cmd":"wait","total":T,"timeoutMs":M} → {"kind":"reached","total":T} or {"kind":"error",...}
//	parent → child: {"cmd":"counts"} → {"kind":"counts","min":A,"max":B,"total":T}
//	parent → child: {"cmd":"send","rate":R,"senders":K,"ms":D,"drainMs":M,"per":P,"payload":B} → {"kind":"sent","send":{...}}
//	parent → child: {"cmd":"slow","rate":R} → {"kind":"slow"}
//	parent closes stdin → the child closes every client and exits 0
type command struct {
	Cmd       string  `json:"cmd"`
	Total     int64   `json:"total,omitempty"`
	TimeoutMs int64   `json:"timeoutMs,omitempty"`
	Rate      float64 `json:"rate,omitempty"`
	Senders   int     `json:"senders,omitempty"`
	Ms        int64   `json:"ms,omitempty"`
	DrainMs   int64   `json:"drainMs,omitempty"`
	Per       int64   `json:"per,omitempty"`
	Payload   int     `json:"payload,omitempty"`
}

type reply struct {
	Kind    string `json:"kind"`
	Message string `json:"message,omitempty"`
	Clients int    `json:"clients,omitempty"`
	Ms      int64  `json:"ms,omitempty"`
	Total   int64  `json:"total,omitempty"`
	Min     int64  `json:"min"`
	Max     int64  `json:"max"`
	CPUNs   int64  `json:"cpuNs,omitempty"`

	Send *SendResult `json:"send,omitempty"`
}

// child runs the swarm of the JSON config cfg until in closes.
func child(cfg string, in io.Reader, out io.Writer) int {
	enc := json.NewEncoder(out)
	var c Config
	if err := json.Unmarshal([]byte(cfg), &c); err != nil {
		_ = enc.Encode(reply{Kind: "error", Message: fmt.Sprintf("bad %s: %v", childEnv, err)})
		return 2
	}
	if _, err := RaiseFileLimit(); err != nil {
		_ = enc.Encode(reply{Kind: "error", Message: fmt.Sprintf("raising RLIMIT_NOFILE: %v", err)})
		return 1
	}
	start := time.Now()
	s, err := Connect(context.Background(), c)
	if err != nil {
		_ = enc.Encode(reply{Kind: "error", Message: err.Error()})
		return 1
	}
	defer s.Close()
	_ = enc.Encode(reply{Kind: "connected", Clients: s.Clients(), Ms: time.Since(start).Milliseconds()})
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		var cmd command
		if err := json.Unmarshal(sc.Bytes(), &cmd); err != nil {
			_ = enc.Encode(reply{Kind: "error", Message: fmt.Sprintf("bad command %q: %v", sc.Text(), err)})
			continue
		}
		switch cmd.Cmd {
		case "wait":
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(cmd.TimeoutMs)*time.Millisecond)
			err := s.WaitTotal(ctx, cmd.Total)
			cancel()
			if err != nil {
				lo, hi := s.Counts()
				_ = enc.Encode(reply{Kind: "error", Message: err.Error(), Total: s.Total(), Min: lo, Max: hi})
				continue
			}
			_ = enc.Encode(reply{Kind: "reached", Total: cmd.Total})
		case "send":
			r, err := s.Send(context.Background(), cmd.Rate, cmd.Senders, time.Duration(cmd.Ms)*time.Millisecond,
				time.Duration(cmd.DrainMs)*time.Millisecond, cmd.Per, cmd.Payload)
			if err != nil {
				_ = enc.Encode(reply{Kind: "error", Message: err.Error()})
				continue
			}
			_ = enc.Encode(reply{Kind: "sent", Send: &r})
		case "slow":
			s.SetSlowRate(cmd.Rate)
			_ = enc.Encode(reply{Kind: "slow"})
		case "counts":
			lo, hi := s.Counts()
			_ = enc.Encode(reply{Kind: "counts", Min: lo, Max: hi, Total: s.Total(), CPUNs: int64(ProcessCPU())})
		default:
			_ = enc.Encode(reply{Kind: "error", Message: fmt.Sprintf("unknown command %q", cmd.Cmd)})
		}
	}
	return 0
}

// A Process is a swarm running in a child process.
type Process struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	replies chan reply
	done    chan struct{} // closed when stdout is drained and the child waited for
	waitErr error
	stderr  bytes.Buffer // guarded by mu
	mu      sync.Mutex
	once    sync.Once

	// ConnectTime is how long the child took to connect every client.
	ConnectTime time.Duration
}

// StartProcess starts the swarm of cfg in a child process (this program,
// run again) and returns once every client has joined. Close it when done.
func StartProcess(cfg Config) (*Process, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	js, _ := json.Marshal(cfg)
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childEnv+"="+string(js))
	cmd.WaitDelay = time.Second
	p := &Process{cmd: cmd, replies: make(chan reply, 16), done: make(chan struct{})}
	cmd.Stderr = (*lockedWriter)(p)
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("loadgen: starting the swarm process: %w", err)
	}
	go p.read(stdout)
	r, err := p.next(cfg.Timeout + 10*time.Second)
	if err == nil && r.Kind != "connected" {
		err = fmt.Errorf("loadgen: swarm of %d clients: %s", cfg.Clients, r.Message)
	}
	if err != nil {
		p.Close()
		return nil, err
	}
	p.ConnectTime = time.Duration(r.Ms) * time.Millisecond
	return p, nil
}

type lockedWriter Process

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stderr.Len() < 1<<20 {
		w.stderr.Write(b)
	}
	return len(b), nil
}

func (p *Process) read(stdout io.Reader) {
	defer close(p.done)
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		var r reply
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			r = reply{Kind: "error", Message: fmt.Sprintf("unexpected output %q", sc.Text())}
		}
		p.replies <- r // the protocol is request-reply: the buffer never fills
	}
	p.waitErr = p.cmd.Wait()
}

// next returns the child's next reply, waiting at most d.
func (p *Process) next(d time.Duration) (reply, error) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case r := <-p.replies:
		return r, nil
	case <-p.done:
		select {
		case r := <-p.replies:
			return r, nil
		default:
		}
		return reply{}, fmt.Errorf("loadgen: the swarm process ended (%v); stderr: %s", p.waitErr, p.Stderr())
	case <-t.C:
		return reply{}, fmt.Errorf("loadgen: no answer from the swarm process within %v", d)
	}
}

func (p *Process) send(c command) error {
	b, _ := json.Marshal(c)
	_, err := p.stdin.Write(append(b, '\n'))
	return err
}

// Expect tells the child to wait until its clients have received total
// events together (at most timeout); Await returns the outcome. Sending the
// wait before the broadcast it waits for keeps the pipe's latency out of
// the measured time but one hop.
func (p *Process) Expect(total int64, timeout time.Duration) error {
	return p.send(command{Cmd: "wait", Total: total, TimeoutMs: timeout.Milliseconds()})
}

// Await returns when the child answers the last Expect.
func (p *Process) Await(timeout time.Duration) error {
	r, err := p.next(timeout + 5*time.Second)
	if err != nil {
		return err
	}
	if r.Kind != "reached" {
		return fmt.Errorf("loadgen: %s (received %d in all; per client between %d and %d)", r.Message, r.Total, r.Min, r.Max)
	}
	return nil
}

// WaitTotal is Expect followed by Await.
func (p *Process) WaitTotal(total int64, timeout time.Duration) error {
	if err := p.Expect(total, timeout); err != nil {
		return err
	}
	return p.Await(timeout)
}

// Counts returns the smallest and largest count of one client, and the
// total, as Swarm.Counts and Swarm.Total do.
func (p *Process) Counts() (lo, hi, total int64, err error) {
	r, err := p.counts()
	return r.Min, r.Max, r.Total, err
}

// CPU returns the CPU time (user and system) the child has used so far,
// connecting included; zero where the platform does not say.
func (p *Process) CPU() (time.Duration, error) {
	r, err := p.counts()
	return time.Duration(r.CPUNs), err
}

func (p *Process) counts() (reply, error) {
	if err := p.send(command{Cmd: "counts"}); err != nil {
		return reply{}, err
	}
	r, err := p.next(10 * time.Second)
	if err != nil {
		return reply{}, err
	}
	if r.Kind != "counts" {
		return reply{}, errors.New("loadgen: " + r.Message)
	}
	return r, nil
}

// Stderr returns what the child wrote to its stderr.
func (p *Process) Stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.TrimSpace(p.stderr.String())
}

// Close closes the child's stdin, which makes it close its clients and
// exit; it is killed if it has not exited within 15 s. Close waits for it
// and may be called more than once.
func (p *Process) Close() error {
	p.once.Do(func() {
		_ = p.stdin.Close()
		t := time.NewTimer(15 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-p.done:
				return
			case <-p.replies: // whatever the child still says
			case <-t.C:
				_ = p.cmd.Process.Kill()
			}
		}
	})
	return p.waitErr
}

// Send runs one step of the chat workload in the child (Swarm.Send) and
// returns what it measured.
func (p *Process) Send(rate float64, senders int, d, drain time.Duration, perMessage int64, payload int) (SendResult, error) {
	if err := p.send(command{Cmd: "send", Rate: rate, Senders: senders, Ms: d.Milliseconds(), DrainMs: drain.Milliseconds(), Per: perMessage, Payload: payload}); err != nil {
		return SendResult{}, err
	}
	r, err := p.next(d + drain + 30*time.Second)
	if err != nil {
		return SendResult{}, err
	}
	if r.Kind != "sent" || r.Send == nil {
		return SendResult{}, fmt.Errorf("loadgen: send: %s %s", r.Kind, r.Message)
	}
	out := *r.Send
	us := time.Microsecond
	out.P50, out.P99, out.P999, out.Max = time.Duration(out.P50us)*us, time.Duration(out.P99us)*us, time.Duration(out.P999us)*us, time.Duration(out.MaxUs)*us
	return out, nil
}

// SetSlowRate sets the child's slow client's reading rate (Swarm.SetSlowRate).
func (p *Process) SetSlowRate(rate float64) error {
	if err := p.send(command{Cmd: "slow", Rate: rate}); err != nil {
		return err
	}
	r, err := p.next(10 * time.Second)
	if err == nil && r.Kind != "slow" {
		err = fmt.Errorf("loadgen: slow: %s %s", r.Kind, r.Message)
	}
	return err
}
