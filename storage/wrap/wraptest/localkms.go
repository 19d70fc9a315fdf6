// Package wraptest starts the real components the wrap tests run
// against: local-kms (a real implementation of the AWS KMS API) and a
// SoftHSM2 token, each on loopback or in a temp folder, stopped by the
// test. When a component is missing it says so in one line and skips.
package wraptest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/gofrs/flock"
)

// LocalKMSModule is the pinned local-kms the tests install.
const LocalKMSModule = "github.com/nsmithuk/local-kms@v0.0.0-20260228092603-2a5e92d09ab6"

// Region of the local KMS (its default).
const Region = "eu-west-2"

// KMSServer is a running local-kms.
type KMSServer struct {
	Endpoint string // http://127.0.0.1:PORT
	cmd      *exec.Cmd
	cl       *kms.Client
}

// Credentials are the static dummy credentials the tests sign with.
func Credentials() aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider("AKIDLOCALKMSTEST", "local-kms-test-secret", "")
}

// missing skips t with a one-line reason, or fails it in CI (CI set),
// where scripts/test-deps.sh must have brought every component.
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("in CI: "+format, args...)
	}
	t.Skipf(format, args...)
}

// localKMSBinary returns the cached local-kms, installing it with
// `go install` into <user cache>/qapprove-test/bin when missing.
func localKMSBinary(t testing.TB) string {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	bin := filepath.Join(cache, "qapprove-test", "bin")
	exe := filepath.Join(bin, "local-kms")
	if err := os.MkdirAll(bin, 0o700); err != nil {
		missing(t, "cannot create %s for local-kms: skipping the KMS test", bin)
	}
	// Test packages run in parallel: one installs, the others wait.
	lock := flock.New(filepath.Join(bin, ".local-kms.lock"))
	if err := lock.Lock(); err != nil {
		missing(t, "cannot lock %s: skipping the KMS test", bin)
	}
	defer func() { _ = lock.Unlock() }()
	if _, err := os.Stat(exe); err == nil {
		return exe
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		missing(t, "local-kms is not installed and no go tool to install it: skipping the KMS test")
	}
	cmd := exec.Command(goBin, "install", LocalKMSModule) //nolint:gosec // G204: the go tool from PATH installing the pinned module
	cmd.Env = append(os.Environ(), "GOBIN="+bin, "GOFLAGS=-mod=mod")
	cmd.Dir = bin
	if out, err := cmd.CombinedOutput(); err != nil {
		missing(t, "local-kms could not be installed (go install %s: %v, %.100q): skipping the KMS test", LocalKMSModule, err, out)
	}
	return exe
}

// StartKMS starts local-kms on a free loopback port with a temp data
// folder; it is stopped (by PID) when the test ends.
func StartKMS(t testing.TB) *KMSServer {
	t.Helper()
	exe := localKMSBinary(t)
	dir := t.TempDir()
	port := freePort(t)
	cmd := exec.Command(exe) //nolint:gosec // G204: the local-kms this helper installed in the user's cache
	cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port), "KMS_DATA_PATH="+filepath.Join(dir, "data"),
		"KMS_SEED_PATH="+filepath.Join(dir, "no-seed.yaml"), "KMS_REGION="+Region)
	logf, err := os.Create(filepath.Join(dir, "local-kms.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		missing(t, "local-kms could not start (%v): skipping the KMS test", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); _ = logf.Close(); close(exited) }()
	s := &KMSServer{Endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd}
	t.Cleanup(func() { s.Stop(); <-exited })
	if err := waitListening(port, exited); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "local-kms.log"))
		t.Fatalf("local-kms did not start: %v\n%s", err, log)
	}
	s.cl = kms.New(kms.Options{Region: Region, Credentials: Credentials(), BaseEndpoint: aws.String(s.Endpoint)})
	return s
}

// Stop kills local-kms (by its PID); the KMS is then unreachable.
func (s *KMSServer) Stop() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Kill() // already gone is fine
	}
}

// CreateKey creates a symmetric key and returns its ARN.
func (s *KMSServer) CreateKey(t testing.TB) string {
	t.Helper()
	out, err := s.cl.CreateKey(context.Background(), &kms.CreateKeyInput{Description: aws.String("qapprove test")})
	if err != nil {
		t.Fatalf("local-kms CreateKey: %v", err)
	}
	return aws.ToString(out.KeyMetadata.Arn)
}

// Disable disables the key (the security team's revocation).
func (s *KMSServer) Disable(t testing.TB, arn string) {
	t.Helper()
	if _, err := s.cl.DisableKey(context.Background(), &kms.DisableKeyInput{KeyId: aws.String(arn)}); err != nil {
		t.Fatalf("local-kms DisableKey: %v", err)
	}
}

// Enable re-enables the key.
func (s *KMSServer) Enable(t testing.TB, arn string) {
	t.Helper()
	if _, err := s.cl.EnableKey(context.Background(), &kms.EnableKeyInput{KeyId: aws.String(arn)}); err != nil {
		t.Fatalf("local-kms EnableKey: %v", err)
	}
}

// ScheduleDeletion schedules the key's deletion (it is then unusable).
func (s *KMSServer) ScheduleDeletion(t testing.TB, arn string) {
	t.Helper()
	if _, err := s.cl.ScheduleKeyDeletion(context.Background(), &kms.ScheduleKeyDeletionInput{KeyId: aws.String(arn), PendingWindowInDays: aws.Int32(7)}); err != nil {
		t.Fatalf("local-kms ScheduleKeyDeletion: %v", err)
	}
}

// KeyState returns the key's state as the KMS reports it.
func (s *KMSServer) KeyState(t testing.TB, arn string) types.KeyState {
	t.Helper()
	out, err := s.cl.DescribeKey(context.Background(), &kms.DescribeKeyInput{KeyId: aws.String(arn)})
	if err != nil {
		t.Fatalf("local-kms DescribeKey: %v", err)
	}
	return out.KeyMetadata.KeyState
}

// FreePort returns a loopback port nobody listens on now.
func FreePort(t testing.TB) int { return freePort(t) }

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	a, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		t.Fatalf("listener address %v is not TCP", l.Addr())
	}
	return a.Port
}

// waitListening waits until something accepts on the loopback port, or
// the process exits, or 30 s pass.
func waitListening(port int, exited <-chan struct{}) error {
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			_ = c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listens on port %d", port)
		}
		select {
		case <-exited:
			return fmt.Errorf("it exited")
		case <-tick.C:
		}
	}
}
