package secrets

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/zalando/go-keyring"
)

// exerciseBackend runs the contract every Backend must meet.
func exerciseBackend(t *testing.T, be Backend) {
	t.Helper()
	if _, err := be.Get("p1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get absent: err = %v, want ErrNotFound", err)
	} else if !strings.Contains(err.Error(), "no key stored for profile p1") || !strings.Contains(err.Error(), "qapprove keys register") {
		t.Fatalf("not-found message = %q", err)
	}
	if err := be.Delete("p1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Delete absent: err = %v, want ErrNotFound", err)
	}
	if err := be.Set("p1", []byte("one")); err != nil {
		t.Fatal(err)
	}
	if got, err := be.Get("p1"); err != nil || string(got) != "one" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	if err := be.Set("p1", []byte("two")); err != nil {
		t.Fatal(err)
	}
	if got, err := be.Get("p1"); err != nil || string(got) != "two" {
		t.Fatalf("Get after overwrite = %q, %v", got, err)
	}
	// The anchor item is separate from the bundle item.
	if _, err := be.Get("p1" + AnchorSuffix); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "journal anchor") {
		t.Fatalf("anchor absent: %v", err)
	}
	if err := be.Set("p1"+AnchorSuffix, []byte(`{"seq":3}`)); err != nil {
		t.Fatal(err)
	}
	if got, _ := be.Get("p1"); string(got) != "two" {
		t.Fatalf("anchor Set changed the bundle item: %q", got)
	}
	if got, err := be.Get("p1" + AnchorSuffix); err != nil || string(got) != `{"seq":3}` {
		t.Fatalf("anchor Get = %q, %v", got, err)
	}
	// Size limit, before anything is written.
	if err := be.Set("p1", make([]byte, MaxValueSize+1)); !errors.Is(err, ErrTooBig) {
		t.Fatalf("oversized Set: err = %v, want ErrTooBig", err)
	}
	if got, _ := be.Get("p1"); string(got) != "two" {
		t.Fatalf("refused Set changed the item: %q", got)
	}
	if err := be.Set("p1", make([]byte, MaxValueSize)); err != nil {
		t.Fatalf("Set of exactly MaxValueSize: %v", err)
	}
	// Invalid users are refused.
	for _, u := range []string{"", "../x", "a/b", ".probe", "p1/other"} {
		if err := be.Set(u, []byte("x")); err == nil {
			t.Errorf("Set(%q) accepted", u)
		}
	}
	if err := be.Delete("p1"); err != nil {
		t.Fatal(err)
	}
	if _, err := be.Get("p1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Delete: %v", err)
	}
	if err := be.Delete("p1" + AnchorSuffix); err != nil {
		t.Fatal(err)
	}
}

func TestFileBackend(t *testing.T) {
	paths := tempPaths(t)
	fb := NewFileBackend(paths)
	if fb.Kind() != KindFile {
		t.Fatalf("Kind = %q", fb.Kind())
	}
	exerciseBackend(t, fb)
}

func TestFileBackendLayoutAndModes(t *testing.T) {
	paths := tempPaths(t)
	fb := NewFileBackend(paths)
	if err := fb.Set("work", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := fb.Set("work"+AnchorSuffix, []byte("a")); err != nil {
		t.Fatal(err)
	}
	want := paths.KeystoreFile("work")
	if b, err := os.ReadFile(want); err != nil || string(b) != "v" {
		t.Fatalf("bundle file %s: %q %v", want, b, err)
	}
	anchor := filepath.Join(filepath.Dir(want), "work.journal-anchor.json")
	if b, err := os.ReadFile(anchor); err != nil || string(b) != "a" {
		t.Fatalf("anchor file %s: %q %v", anchor, b, err)
	}
	if runtime.GOOS == "windows" {
		t.Log("file modes not checked on Windows")
		return
	}
	for _, p := range []string{want, anchor} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s mode = %v, %v", p, fi.Mode(), err)
		}
	}
	// A fresh keystore folder is created 0700.
	sub := NewFileBackend(paths)
	sub.paths.Data = filepath.Join(t.TempDir(), "fresh", "data")
	sub.paths.Home = ""
	if err := sub.Set("x", []byte("v")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Dir(sub.paths.KeystoreFile("x")))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("folder mode = %v, %v", fi.Mode(), err)
	}
}

func TestFileBackendRefusesLoosePermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permissions do not apply on Windows")
	}
	fb := NewFileBackend(tempPaths(t))
	if err := fb.Set("p", []byte("v")); err != nil {
		t.Fatal(err)
	}
	path, _ := fb.Path("p")
	for _, mode := range []os.FileMode{0o644, 0o640, 0o602} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := fb.Get("p")
		if err == nil || !strings.Contains(err.Error(), "chmod 600") || !strings.Contains(err.Error(), path) {
			t.Fatalf("mode %#o: err = %v", mode, err)
		}
	}
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	if got, err := fb.Get("p"); err != nil || string(got) != "v" {
		t.Fatalf("mode 0400 (stricter) refused: %v", err)
	}
}

func TestFileBackendRefusesHostileFiles(t *testing.T) {
	fb := NewFileBackend(tempPaths(t))
	path, _ := fb.Path("big")
	if err := os.WriteFile(path, make([]byte, maxReadSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := fb.Get("big"); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("oversized file: err = %v", err)
	}
	if runtime.GOOS == "windows" {
		return
	}
	target := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.WriteFile(target, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	link, _ := fb.Path("link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if _, err := fb.Get("link"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("symlink: err = %v", err)
	}
}

func TestKeychainBackendMock(t *testing.T) {
	keyring.MockInit()
	be := NewKeychainBackend()
	if be.Kind() != KindKeychain {
		t.Fatalf("Kind = %q", be.Kind())
	}
	exerciseBackend(t, be)
}

func TestKeychainUnavailable(t *testing.T) {
	keyring.MockInitWithError(errors.New("failed to unlock correct collection '/org/freedesktop/secrets/aliases/default'"))
	defer keyring.MockInit()
	be := NewKeychainBackend()
	for name, err := range map[string]error{
		"get":    func() error { _, err := be.Get("p"); return err }(),
		"set":    be.Set("p", []byte("v")),
		"delete": be.Delete("p"),
	} {
		if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrNotFound) {
			t.Errorf("%s: err = %v, want ErrUnavailable", name, err)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, "OS keychain unavailable or locked") || !strings.Contains(msg, "failed to unlock") || !strings.Contains(msg, "--keystore file") {
			t.Errorf("%s: message %q", name, msg)
		}
	}
}

func TestOpenBackend(t *testing.T) {
	paths := tempPaths(t)

	keyring.MockInit()
	be, warn, err := OpenBackend("", paths)
	if err != nil || warn != "" || be.Kind() != KindKeychain {
		t.Fatalf("keychain: %v %q %v", be, warn, err)
	}
	be, warn, err = OpenBackend(KindFile, paths)
	if err != nil || warn != "" || be.Kind() != KindFile {
		t.Fatalf("file: %v %q %v", be, warn, err)
	}
	if _, _, err := OpenBackend("vault", paths); err == nil || !strings.Contains(err.Error(), "keychain or file") {
		t.Fatalf("unknown kind: %v", err)
	}

	keyring.MockInitWithError(errors.New("The name org.freedesktop.secrets was not provided by any .service files"))
	defer keyring.MockInit()
	be, warn, err = OpenBackend(KindKeychain, paths)
	if be != nil || warn != "" || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("no Secret Service: %v %q %v, want a refusal", be, warn, err)
	}
	dir := filepath.Dir(paths.KeystoreFile("default"))
	msg := err.Error()
	for _, want := range []string{"OS keychain unavailable", "org.freedesktop.secrets", "without your consent",
		"--keystore file", `keystore = "file"`, "config.toml", dir} {
		if !strings.Contains(msg, want) {
			t.Errorf("refusal %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("refusal is not one line: %q", msg)
	}
}

// TestOpenBackendWithoutDBusSession: with no session bus at all (the
// real go-keyring provider, not a mock), the keychain is refused the same
// way. Run in a child process: the mock provider cannot be undone.
func TestOpenBackendWithoutDBusSession(t *testing.T) {
	if os.Getenv("QAPPROVE_NO_DBUS_CHILD") == "1" {
		_, _, err := OpenBackend(KindKeychain, tempPaths(t))
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "--keystore file") {
			t.Fatalf("OpenBackend without D-Bus: %v", err)
		}
		return
	}
	if runtime.GOOS != "linux" {
		t.Skip("the Secret Service over D-Bus is Linux only")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestOpenBackendWithoutDBusSession$", "-test.count=1")
	cmd.Env = append(os.Environ(), "QAPPROVE_NO_DBUS_CHILD=1", "DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent/qapprove-test-bus")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func TestKeychainProbeTimeout(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	kc := keychainBackend{}
	// A probe that never answers is reported as unavailable.
	err := probeWith(func() error { <-block; return nil }, 20*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "no answer") {
		t.Fatalf("probe of a hung keychain: %v", err)
	}
	keyring.MockInit()
	if err := kc.probe(probeTimeout); err != nil {
		t.Fatalf("probe of a working keychain: %v", err)
	}
}
