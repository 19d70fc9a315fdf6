// Command benchconsole measures the built console in tmux against the
// sandbox (scripts/bench-console.sh, `make bench-console`): keypress → new
// frame latency, fresh load time and y → "Approved" latency, at the given
// numbers of pending actions, with `less` on a file of as many lines
// measured the same way as the floor. A frame counts as new when
// `tmux capture-pane` shows different text; the polling costs about a
// millisecond, the same for both programs.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

const pass = "a long passphrase for the console benchmark"

var (
	bin     = flag.String("bin", "bin/qapprove", "the built binary")
	sizes   = flag.String("pending", "1000,10000,100000", "pending actions to measure at (comma separated)")
	presses = flag.Int("presses", 60, "keypresses measured per size")
	decides = flag.Int("decisions", 8, "approvals measured per size")
	conEnv  = flag.String("env", "", "extra environment of the console, e.g. GOGC=400")
	profile = flag.String("cpuprofile", "", "write the console's CPU profile to PREFIX.<pending>.prof")
	socket  = fmt.Sprintf("qbench-%d", os.Getpid())
)

func main() {
	flag.Parse()
	abs, err := filepath.Abs(*bin)
	check(err)
	*bin = abs
	cleanups = append(cleanups, func() { _ = exec.Command("tmux", "-L", socket, "kill-server").Run() })
	defer cleanup()
	fmt.Println("| pending | keypress p50 / p90 (less) | fresh load | y → Approved p50 / p90 |")
	fmt.Println("|---|---|---|---|")
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		check(err)
		measure(n)
		cleanup()
	}
}

// cleanups run before any exit, in reverse order: a failed run must not
// leave a sandbox or a console behind.
var cleanups []func()

func cleanup() {
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	cleanups = nil
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-console:", err)
		cleanup()
		os.Exit(1)
	}
}

func tmux(args ...string) string {
	out, err := exec.Command("tmux", append([]string{"-L", socket}, args...)...).CombinedOutput()
	if err != nil {
		check(fmt.Errorf("tmux %s: %v: %s", args[0], err, out))
	}
	return string(out)
}

func screen(target string) string { return tmux("capture-pane", "-p", "-t", target) }

// waitScreen polls until ok(screen) and returns the time it was seen.
func waitScreen(target string, timeout time.Duration, what string, ok func(string) bool) (string, time.Time) {
	end := time.Now().Add(timeout)
	for {
		s := screen(target)
		if ok(s) {
			return s, time.Now()
		}
		if time.Now().After(end) {
			check(fmt.Errorf("timed out waiting for %s; screen:\n%s", what, s))
		}
	}
}

func contains(want string) func(string) bool {
	return func(s string) bool { return strings.Contains(s, want) }
}

// keyLatency sends key and returns the time until the screen differs; for
// the console, until the row that the key selects is shown selected (the
// list redraws by itself: countdowns every second, rows that expire).
// ok is false when that did not happen within 3 s (the list moved under
// the key): the sample is dropped.
func keyLatency(target, key string) (d time.Duration, ok bool) {
	before := screen(target)
	changed := func(s string) bool { return s != before }
	if target == "con" {
		want := rowAfter(before, key)
		if want == "" {
			return 0, false
		}
		changed = func(s string) bool { return selectedText(s) == want }
	}
	t0 := time.Now()
	tmux("send-keys", "-t", target, key)
	_, ok = pollScreen(target, 3*time.Second, changed)
	return time.Since(t0), ok
}

// rowText is a list row without its marker and its ticking expiry column.
func rowText(l string) string {
	r := []rune(l)
	return strings.TrimSpace(string(r[min(len(r), 2):min(len(r), 100)]))
}

// selectedText is the text of the selected row.
func selectedText(screen string) string {
	for _, l := range strings.Split(screen, "\n") {
		if strings.HasPrefix(l, "▸") {
			return rowText(l)
		}
	}
	return ""
}

// rowAfter is the text of the row that j (the next) or k (the previous)
// selects, when it is on the screen.
func rowAfter(screen, key string) string {
	ls := strings.Split(screen, "\n")
	for i, l := range ls {
		if !strings.HasPrefix(l, "▸") {
			continue
		}
		j := i + 1
		if key == "k" {
			j = i - 1
		}
		if j < 0 || j >= len(ls) || !strings.HasPrefix(ls[j], "  ") {
			return ""
		}
		return rowText(ls[j])
	}
	return ""
}

func pct(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// pressRun measures presses of j then k alternately (the selection or
// the view moves each time); samples whose effect a list change hid are
// dropped and counted.
func pressRun(target string) (ds []time.Duration, dropped int) {
	for i := 0; len(ds) < *presses && dropped < *presses; i++ {
		key := "j"
		if i%2 == 1 {
			key = "k"
		}
		if d, ok := keyLatency(target, key); ok {
			ds = append(ds, d)
		} else {
			dropped++
		}
	}
	if len(ds) == 0 {
		check(fmt.Errorf("no keypress could be measured on %s", target))
	}
	return ds, dropped
}

var pendingRe = regexp.MustCompile(`Pending ([0-9]+)`)

func measure(pending int) {
	cleanups = append(cleanups, func() { _ = exec.Command("tmux", "-L", socket, "kill-server").Run() })
	w, err := os.MkdirTemp("", "qbench")
	check(err)
	cleanups = append(cleanups, func() { _ = os.RemoveAll(w) })

	// The floor: less on a file of as many lines.
	var buf bytes.Buffer
	for i := range pending {
		fmt.Fprintf(&buf, "line %d of the file, about as wide as a row of the console list\n", i)
	}
	check(os.WriteFile(filepath.Join(w, "lines"), buf.Bytes(), 0o600))
	tmux("new-session", "-d", "-s", "less", "-x", "120", "-y", "40", "less "+filepath.Join(w, "lines"))
	waitScreen("less", 10*time.Second, "less", contains("line 0 of"))
	less, _ := pressRun("less")
	tmux("kill-session", "-t", "less")

	// The sandbox: about 85% of generated actions are pending for the key.
	actions := pending * 100 / 85
	sb := exec.Command(*bin, "sandbox", "--addr", "127.0.0.1:0", "--actions", strconv.Itoa(actions))
	out, err := sb.StdoutPipe()
	check(err)
	check(sb.Start())
	cleanups = append(cleanups, func() { _ = sb.Process.Kill(); _ = sb.Wait() })
	fields := map[string]string{}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ": ")
		fields[k] = v
		if k == "protocol" {
			break
		}
	}
	go func() { _, _ = bufio.NewReader(out).WriteTo(devNull{}) }()
	check(os.WriteFile(filepath.Join(w, "secret"), []byte(fields["api_secret"]), 0o600))
	check(os.WriteFile(filepath.Join(w, "pass"), []byte(pass), 0o600))
	home := filepath.Join(w, "home")
	reg := exec.Command(*bin, "--home", home, "--keystore", "file", "keys", "register", "--non-interactive",
		"--passphrase-file", filepath.Join(w, "pass"), "--api-url", fields["base_url"], "--workspace", fields["workspace_id"],
		"--api-key-id", fields["api_key_id"], "--api-secret-file", filepath.Join(w, "secret"))
	if o, err := reg.CombinedOutput(); err != nil {
		check(fmt.Errorf("register: %v: %s", err, o))
	}

	env := ""
	if *conEnv != "" {
		env = *conEnv + " "
	}
	if *profile != "" {
		env += fmt.Sprintf("QAPPROVE_CPUPROFILE=%s.%d.prof ", *profile, pending)
	}
	tmux("new-session", "-d", "-s", "con", "-x", "120", "-y", "40", env+"exec "+*bin+" --home "+home+" --keystore file")
	conPID, err := strconv.Atoi(strings.TrimSpace(tmux("list-panes", "-t", "con", "-F", "#{pane_pid}")))
	check(err)
	waitScreen("con", 20*time.Second, "the console", contains("LOCKED"))
	tmux("send-keys", "-t", "con", "u")
	waitScreen("con", 10*time.Second, "the unlock dialog", contains("Passphrase:"))
	tmux("send-keys", "-t", "con", "-l", pass)
	tmux("send-keys", "-t", "con", "Enter")
	t0 := time.Now()
	_, tUnlocked := waitScreen("con", 30*time.Second, "unlocked", contains("unlocked"))
	cpuCon, cpuSB := cpuSeconds(conPID), cpuSeconds(sb.Process.Pid)
	// Loaded: the count stops changing for 5 s; the time is its last change.
	last, lastAt, stableSince := -1, time.Now(), time.Now()
	for time.Since(stableSince) < 5*time.Second || last <= 0 {
		if time.Since(t0) > 10*time.Minute {
			check(fmt.Errorf("the list did not settle"))
		}
		n := 0
		if m := pendingRe.FindStringSubmatch(screen("con")); m != nil {
			n, _ = strconv.Atoi(m[1])
		}
		if n != last {
			last, lastAt, stableSince = n, time.Now(), time.Now()
		}
		time.Sleep(20 * time.Millisecond)
	}
	load := lastAt.Sub(t0)
	cpuCon, cpuSB = cpuSeconds(conPID)-cpuCon, cpuSeconds(sb.Process.Pid)-cpuSB

	// After the count settles the console still has work in the
	// background (the feed's replay, the cache): keypresses are measured
	// once it is idle (under 10% of a CPU over 2 s), and how long that
	// took is reported.
	tIdle := time.Now()
	for prev := cpuSeconds(conPID); time.Since(tIdle) < 3*time.Minute; {
		time.Sleep(2 * time.Second)
		cur := cpuSeconds(conPID)
		if cur-prev < 0.2 {
			break
		}
		prev = cur
	}
	busy := time.Since(tIdle)
	keys, dropped := pressRun("con")

	var dec []time.Duration
	idRe := regexp.MustCompile(`Action +([^ │|]+)`)
	for len(dec) < *decides {
		tmux("send-keys", "-t", "con", "j")
		time.Sleep(200 * time.Millisecond)
		// Approving against a REJECT verdict is refused: move past those.
		for i := 0; selectedRow(screen("con"), "REJECT"); i++ {
			if i > 50 {
				check(fmt.Errorf("no row without a REJECT verdict"))
			}
			tmux("send-keys", "-t", "con", "j")
			time.Sleep(200 * time.Millisecond)
		}
		tmux("send-keys", "-t", "con", "a")
		s, ok := reachConfirm()
		if !ok {
			continue // the list moved under the key (a refresh): try again
		}
		m := idRe.FindStringSubmatch(s)
		if m == nil {
			check(fmt.Errorf("no action id in the dialog:\n%s", s))
		}
		// The dialog drops keys typed within 425 ms of it opening (a
		// guard against typing ahead); wait as a person would.
		time.Sleep(600 * time.Millisecond)
		t := time.Now()
		tmux("send-keys", "-t", "con", "y")
		// The note "Approved ID." may be replaced within a second by
		// another (expiries at 100k); the detail's outcome line stays.
		_, t1 := waitScreen("con", 30*time.Second, "Approved "+m[1], func(s string) bool {
			return strings.Contains(s, "Approved "+m[1]) || strings.Contains(s, m[1]) && strings.Contains(s, "Outcome: approved")
		})
		dec = append(dec, t1.Sub(t))
	}
	tmux("send-keys", "-t", "con", "q")
	// Let it quit by itself, so that its CPU profile is written.
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if exec.Command("tmux", "-L", socket, "has-session", "-t", "con").Run() != nil {
			break
		}
	}

	fmt.Printf("| %d (%d listed) | %s / %s (less %s / %s; %d dropped; busy %.0f s after the load) | %.2f s after the unlock (%.2f s from Enter; CPU: console %.1f s, sandbox %.1f s) | %s / %s |\n",
		pending, last, ms(pct(keys, .5)), ms(pct(keys, .9)), ms(pct(less, .5)), ms(pct(less, .9)), dropped, busy.Seconds(),
		lastAt.Sub(tUnlocked).Seconds(), load.Seconds(), cpuCon, cpuSB, ms(pct(dec, .5)), ms(pct(dec, .9)))
}

// selectedRow reports whether the selected list row contains want.
func selectedRow(screen, want string) bool {
	for _, l := range strings.Split(screen, "\n") {
		if strings.HasPrefix(l, "▸") {
			return strings.Contains(l, want)
		}
	}
	return false
}

var toRe = regexp.MustCompile(`┃ To +(\S+)`)

// reachConfirm answers the steps an approval against the verdict asks
// for (a reason, the last 4 characters of the destination) until the
// final "Press y to approve" dialog shows, and returns that screen.
func reachConfirm() (string, bool) {
	for range 4 {
		s, ok := pollScreen("con", 5*time.Second, func(s string) bool {
			return strings.Contains(s, "Press y to approve") || strings.Contains(s, "> █")
		})
		switch {
		case !ok:
			return "", false
		case strings.Contains(s, "Press y to approve"):
			return s, true
		case strings.Contains(s, "Type the last 4 characters"):
			m := toRe.FindStringSubmatch(s)
			if m == nil || len(m[1]) < 4 {
				check(fmt.Errorf("no destination in the dialog:\n%s", s))
			}
			tmux("send-keys", "-t", "con", "-l", m[1][len(m[1])-4:])
		default:
			tmux("send-keys", "-t", "con", "-l", "benchmark")
		}
		tmux("send-keys", "-t", "con", "Enter")
		pollScreen("con", 5*time.Second, func(n string) bool { return n != s })
	}
	return "", false
}

// pollScreen is waitScreen that reports a timeout instead of failing.
func pollScreen(target string, timeout time.Duration, ok func(string) bool) (string, bool) {
	end := time.Now().Add(timeout)
	for {
		s := screen(target)
		if ok(s) {
			return s, true
		}
		if time.Now().After(end) {
			return s, false
		}
	}
}

// cpuSeconds is the user+system CPU time of process pid so far
// (/proc/PID/stat, clock ticks of 1/100 s).
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	check(err)
	// The command name may hold spaces: fields count from after its ')'.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100
}

type devNull struct{}

func (devNull) Write(p []byte) (int, error) { return len(p), nil }
