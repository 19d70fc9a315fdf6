package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qapprove/qapprove/crypto/qbls"
	"github.com/qapprove/qapprove/sandbox"
	"github.com/qapprove/qapprove/sandbox/sandboxtest"
	"github.com/qapprove/qapprove/storage"
	"github.com/qapprove/qapprove/storage/secrets"
	"github.com/qapprove/qapprove/storage/secrets/secretstest"
)

// keysPass is a passphrase the strength estimator accepts.
const keysPass = "plum-orbit-Canyon-42-vivid"

// keysSandbox is an in-process sandbox and the files a script would use.
type keysSandbox struct {
	srv               *sandbox.Server
	url, ws, kid, sec string
	passFile, secFile string
	wrongSecretFile   string
	weakPassFile      string
	otherPassFile     string
	dir               string
}

func newKeysSandbox(t *testing.T) *keysSandbox {
	t.Helper()
	srv, u := sandboxtest.Start(t, sandbox.Options{})
	ws, kid, sec := srv.Credentials()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return &keysSandbox{srv: srv, url: u, ws: ws, kid: kid, sec: sec, dir: dir,
		passFile:        write("pass", keysPass),
		secFile:         write("secret", sec),
		wrongSecretFile: write("wrong-secret", "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA=="),
		weakPassFile:    write("weak", "password1"),
		otherPassFile:   write("other-pass", "a-Different-passphrase-77-zebra"),
	}
}

// qa runs qapprove with the global flags for home and profile.
func qa(t *testing.T, home, profile string, args ...string) (int, string, string) {
	t.Helper()
	return runArgs(t, append([]string{"--home", home, "--keystore", "file", "--profile", profile}, args...)...)
}

// registerArgs are the non-interactive register flags for base URL u.
func (s *keysSandbox) registerArgs(u, secretFile string) []string {
	return []string{"keys", "register", "--non-interactive", "--passphrase-file", s.passFile,
		"--api-url", u, "--workspace", s.ws, "--api-key-id", s.kid, "--api-secret-file", secretFile}
}

// register registers a key in a fresh home and returns it.
func (s *keysSandbox) register(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	code, out, errs := qa(t, home, "p", s.registerArgs(s.url, s.secFile)...)
	if code != exitOK {
		t.Fatalf("register: exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	return home
}

// exportedKey registers profile p in a new home against a new sandbox,
// exports its key to a backup file, and returns the sandbox, the file and
// the key bundle.
func exportedKey(t *testing.T) (s *keysSandbox, file string, orig *secrets.Bundle) {
	t.Helper()
	s = newKeysSandbox(t)
	home := s.register(t)
	file = filepath.Join(t.TempDir(), "backup.json")
	if code, _, errs := qa(t, home, "p", "keys", "export", file); code != exitOK {
		t.Fatalf("export: %s", errs)
	}
	orig, _ = loadBundle(t, home, "p")
	return s, file, orig
}

func loadBundle(t *testing.T, home, profile string) (*secrets.Bundle, error) {
	t.Helper()
	return secrets.LoadBundle(secrets.NewFileBackend(storage.ResolvePaths(home)), profile)
}

// assertNothingStored fails if a keystore item or a journal exists.
func assertNothingStored(t *testing.T, home, profile string) {
	t.Helper()
	if _, err := loadBundle(t, home, profile); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("a keystore item was left behind (err %v)", err)
	}
	if _, err := os.Stat(storage.ResolvePaths(home).JournalFile(profile)); !os.IsNotExist(err) {
		t.Fatalf("a journal was left behind (err %v)", err)
	}
}

func TestKeysRegisterNonInteractive(t *testing.T) {
	s := newKeysSandbox(t)
	home := t.TempDir()
	code, out, errs := qa(t, home, "p", s.registerArgs(s.url, s.secFile)...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "stored in: file keystore") {
		t.Errorf("stdout does not say where the key is: %q", out)
	}
	b, err := loadBundle(t, home, "p")
	if err != nil {
		t.Fatal(err)
	}
	if b.Registered == nil {
		t.Fatal("the stored bundle is not marked registered")
	}
	pk, err := b.BLSPublic()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, qbls.Fingerprint(pk)) || !strings.Contains(out, hex.EncodeToString(pk[:])) {
		t.Errorf("stdout does not show the stored public key:\n%s", out)
	}
	if !s.srv.OperatorRegistered() {
		t.Error("the sandbox has no BLS key for the operator")
	}
	cfg, err := storage.LoadConfig(storage.ResolvePaths(home).ConfigFile())
	if err != nil {
		t.Fatal(err)
	}
	if p := cfg.Profiles["p"]; p.APIBaseURL != s.url || p.WorkspaceID != s.ws || p.APIKeyID != s.kid {
		t.Errorf("config.toml profile = %+v", p)
	}
	cfgText, _ := os.ReadFile(storage.ResolvePaths(home).ConfigFile())
	if strings.Contains(string(cfgText), s.sec) || strings.Contains(out+errs, s.sec) {
		t.Fatal("the API secret appears in config.toml or the output")
	}
	if code, out, errs := qa(t, home, "p", "journal", "verify"); code != exitOK {
		t.Fatalf("journal verify: exit %d\n%s%s", code, out, errs)
	}
	// A second registration over the same profile is refused.
	code, _, errs = qa(t, home, "p", s.registerArgs(s.url, s.secFile)...)
	if code != exitFail || !strings.Contains(errs, "already has a key") {
		t.Fatalf("second register: exit %d, %q", code, errs)
	}
}

func TestKeysShow(t *testing.T) {
	s := newKeysSandbox(t)
	home := s.register(t)
	b, err := loadBundle(t, home, "p")
	if err != nil {
		t.Fatal(err)
	}
	pk, _ := b.BLSPublic()
	code, out, errs := qa(t, home, "p", "keys", "show")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{qbls.Fingerprint(pk), "registration:    registered", "file keystore", s.kid, "last unlock:     never"} {
		if !strings.Contains(out, want) {
			t.Errorf("keys show lacks %q:\n%s", want, out)
		}
	}
	code, out, errs = qa(t, home, "p", "keys", "show", "--json")
	if code != exitOK {
		t.Fatalf("--json exit %d: %s", code, errs)
	}
	var st keyStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if st.BLSPublicKey != hex.EncodeToString(pk[:]) || st.Keystore != secrets.KindFile || st.Registered == nil ||
		st.Profile != "p" || st.APIBaseURL != s.url || st.LastUnlock != nil {
		t.Errorf("keys show --json = %+v", st)
	}
	if code, _, errs := qa(t, home, "other", "keys", "show"); code != exitFail || !strings.Contains(errs, "other") {
		t.Errorf("show of a profile without a key: exit %d, %q", code, errs)
	}
	if code, _, _ := qa(t, home, "p", "keys", "show", "extra"); code != exitUsage {
		t.Errorf("show with an extra argument: exit %d", code)
	}
}

func TestKeysExport(t *testing.T) {
	s := newKeysSandbox(t)
	home := s.register(t)
	file := filepath.Join(t.TempDir(), "backup.json")
	code, _, errs := qa(t, home, "p", "keys", "export", file)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v, want 0600", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(file)
	// No secret in clear: not the passphrase, not the API secret (text or
	// bytes), not the BLS or EC secret key.
	b, err := loadBundle(t, home, "p")
	if err != nil {
		t.Fatal(err)
	}
	sec, err := secretstest.KDF().Open(b, []byte(keysPass))
	if err != nil {
		t.Fatal(err)
	}
	defer sec.Zero()
	text := strings.ToLower(string(data))
	for name, secret := range map[string]string{
		"passphrase": strings.ToLower(keysPass), "API secret": strings.ToLower(s.sec),
		"BLS secret": hex.EncodeToString(sec.BLS[:]), "EC secret": hex.EncodeToString(sec.EC[:]),
	} {
		if strings.Contains(text, secret) {
			t.Errorf("the backup holds the %s in clear", name)
		}
	}
	for _, raw := range [][]byte{sec.BLS[:], sec.EC[:], sec.APISecret} {
		if bytes.Contains(data, raw) {
			t.Error("the backup holds secret bytes")
		}
	}
	if _, err := secrets.ParseBundle(bytes.TrimSpace(data)); err != nil {
		t.Fatalf("the backup does not parse: %v", err)
	}

	// An existing file is not replaced without --force.
	if err := os.WriteFile(file, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errs = qa(t, home, "p", "keys", "export", file)
	if code != exitFail || !strings.Contains(errs, "already exists") {
		t.Fatalf("overwrite without --force: exit %d, %q", code, errs)
	}
	if got, _ := os.ReadFile(file); string(got) != "precious" {
		t.Fatal("export replaced an existing file without --force")
	}
	if code, _, errs := qa(t, home, "p", "keys", "export", "--force", file); code != exitOK {
		t.Fatalf("--force: exit %d, %s", code, errs)
	}
	if got, _ := os.ReadFile(file); !bytes.Equal(got, data) {
		t.Fatal("--force did not write the backup")
	}
	if code, _, _ := qa(t, home, "p", "keys", "export"); code != exitUsage {
		t.Errorf("export without FILE: exit %d", code)
	}
	if code, _, _ := qa(t, home, "nokey", "keys", "export", filepath.Join(t.TempDir(), "x")); code != exitFail {
		t.Errorf("export of a profile without a key: exit %d", code)
	}
}

func TestKeysImport(t *testing.T) {
	s, file, orig := exportedKey(t)

	// Wrong passphrase: refused, nothing stored.
	home2 := t.TempDir()
	code, _, errs := qa(t, home2, "q", "keys", "import", file, "--passphrase-file", s.otherPassFile)
	if code != exitFail || !strings.Contains(errs, "wrong passphrase") {
		t.Fatalf("wrong passphrase: exit %d, %q", code, errs)
	}
	if _, err := loadBundle(t, home2, "q"); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("a wrong passphrase stored something: %v", err)
	}

	// Round trip into a new home, under another profile name.
	code, out, errs := qa(t, home2, "q", "keys", "import", "--passphrase-file", s.passFile, file)
	if code != exitOK {
		t.Fatalf("import: exit %d, %s", code, errs)
	}
	got, err := loadBundle(t, home2, "q")
	if err != nil {
		t.Fatal(err)
	}
	if got.BLSPublicKey != orig.BLSPublicKey || got.ECPublicKey != orig.ECPublicKey || got.Profile != "q" {
		t.Fatalf("imported bundle differs: %+v", got.BundlePublic)
	}
	if sec, err := secretstest.KDF().Open(got, []byte(keysPass)); err != nil {
		t.Fatalf("imported bundle does not open: %v", err)
	} else {
		sec.Zero()
	}
	if !strings.Contains(out, fingerprintOf(orig)) {
		t.Errorf("import output lacks the fingerprint: %q", out)
	}
	// The new machine gets the profile settings and a journal of its own.
	cfg, err := storage.LoadConfig(storage.ResolvePaths(home2).ConfigFile())
	if err != nil || cfg.Profiles["q"].APIBaseURL != s.url || cfg.Profiles["q"].APIKeyID != s.kid {
		t.Fatalf("profile settings after import: %v %+v", err, cfg)
	}
	if code, out, errs := qa(t, home2, "q", "journal", "verify"); code != exitOK {
		t.Fatalf("journal of the imported key: exit %d\n%s%s", code, out, errs)
	}
	// Importing the same key again is a no-op.
	if code, out, _ := qa(t, home2, "q", "keys", "import", file, "--passphrase-file", s.passFile); code != exitOK || !strings.Contains(out, "nothing to do") {
		t.Errorf("re-import: exit %d, %q", code, out)
	}

	// A different key already there is kept unless --force.
	home3 := t.TempDir()
	other := sealOther(t, home3, "r")
	code, _, errs = qa(t, home3, "r", "keys", "import", file, "--passphrase-file", s.passFile)
	if code != exitFail || !strings.Contains(errs, "different key") {
		t.Fatalf("different key: exit %d, %q", code, errs)
	}
	if b, _ := loadBundle(t, home3, "r"); b == nil || b.BLSPublicKey != other {
		t.Fatal("the existing key was replaced without --force")
	}
	if code, _, errs := qa(t, home3, "r", "keys", "import", file, "--passphrase-file", s.passFile, "--force"); code != exitOK {
		t.Fatalf("--force: exit %d, %s", code, errs)
	}
	if b, _ := loadBundle(t, home3, "r"); b == nil || b.BLSPublicKey != orig.BLSPublicKey {
		t.Fatal("--force did not import the key")
	}
}

// TestKeysImportChecksPublicKey: a backup whose public key was swapped for
// another one is refused, although its passphrase is right.
func TestKeysImportChecksPublicKey(t *testing.T) {
	s, file, orig := exportedKey(t)
	data, _ := os.ReadFile(file)
	sk, err := qbls.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pk := sk.Public()
	sk.Zero()
	forged := strings.Replace(string(data), orig.BLSPublicKey, hex.EncodeToString(pk[:]), 1)
	if forged == string(data) {
		t.Fatal("the backup does not hold the BLS public key in hex")
	}
	if err := os.WriteFile(file, []byte(forged), 0o600); err != nil {
		t.Fatal(err)
	}
	home2 := t.TempDir()
	code, _, errs := qa(t, home2, "p", "keys", "import", file, "--passphrase-file", s.passFile)
	if code != exitFail {
		t.Fatalf("forged backup: exit %d, %q", code, errs)
	}
	if _, err := loadBundle(t, home2, "p"); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatal("a forged backup was stored")
	}
	// Not a backup at all.
	junk := filepath.Join(t.TempDir(), "junk")
	if err := os.WriteFile(junk, []byte("not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := qa(t, home2, "p", "keys", "import", junk, "--passphrase-file", s.passFile); code != exitFail {
		t.Errorf("junk backup: exit %d", code)
	}
	if code, _, _ := qa(t, home2, "p", "keys", "import", filepath.Join(t.TempDir(), "missing"), "--passphrase-file", s.passFile); code != exitFail {
		t.Errorf("missing backup: exit %d", code)
	}
	if code, _, _ := qa(t, home2, "p", "keys", "import"); code != exitUsage {
		t.Errorf("import without FILE: exit %d", code)
	}
}

// sealOther stores a fresh unrelated key for profile in home and returns
// its BLS public key (hex).
func sealOther(t *testing.T, home, profile string) string {
	t.Helper()
	sec, err := secrets.GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	sec.APISecret = []byte("c2VjcmV0")
	defer sec.Zero()
	b, err := secretstest.KDF().Seal(secrets.BundlePublic{Profile: profile, APIBaseURL: "https://api.example.com/api/v2", WorkspaceID: "ws1", APIKeyID: "k1"}, sec, []byte(keysPass))
	if err != nil {
		t.Fatal(err)
	}
	if err := secrets.SaveBundle(secrets.NewFileBackend(storage.ResolvePaths(home)), profile, b); err != nil {
		t.Fatal(err)
	}
	return b.BLSPublicKey
}

func TestKeysRemove(t *testing.T) {
	s := newKeysSandbox(t)
	home := s.register(t)
	if code, _, errs := qa(t, home, "p", "keys", "remove"); code != exitUsage || !strings.Contains(errs, "--yes") {
		t.Fatalf("remove without --yes: exit %d, %q", code, errs)
	}
	if _, err := loadBundle(t, home, "p"); err != nil {
		t.Fatal("remove without --yes removed the key")
	}
	code, out, errs := qa(t, home, "p", "keys", "remove", "--yes")
	if code != exitOK || !strings.Contains(out, "removed") {
		t.Fatalf("remove: exit %d, %q %q", code, out, errs)
	}
	if _, err := loadBundle(t, home, "p"); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("the key is still there: %v", err)
	}
	if _, err := os.Stat(storage.ResolvePaths(home).JournalFile("p")); err != nil {
		t.Fatal("remove deleted the journal")
	}
	if code, _, _ := qa(t, home, "p", "keys", "show"); code != exitFail {
		t.Errorf("show after remove: exit %d", code)
	}
	if code, _, _ := qa(t, home, "p", "keys", "remove", "--yes"); code != exitFail {
		t.Errorf("second remove: exit %d", code)
	}
}

func TestKeysRegisterUsageErrors(t *testing.T) {
	s := newKeysSandbox(t)
	home := t.TempDir()
	cases := map[string][]string{
		"no passphrase file":  {"keys", "register", "--non-interactive", "--api-url", s.url, "--workspace", s.ws, "--api-key-id", s.kid, "--api-secret-file", s.secFile},
		"no secret file":      {"keys", "register", "--non-interactive", "--passphrase-file", s.passFile, "--api-url", s.url, "--workspace", s.ws, "--api-key-id", s.kid},
		"no URL":              {"keys", "register", "--non-interactive", "--passphrase-file", s.passFile, "--workspace", s.ws, "--api-key-id", s.kid, "--api-secret-file", s.secFile},
		"plain http URL":      {"keys", "register", "--non-interactive", "--passphrase-file", s.passFile, "--api-url", "http://api.example.com/api/v2", "--workspace", s.ws, "--api-key-id", s.kid, "--api-secret-file", s.secFile},
		"missing file":        {"keys", "register", "--non-interactive", "--passphrase-file", filepath.Join(s.dir, "nope"), "--api-url", s.url, "--workspace", s.ws, "--api-key-id", s.kid, "--api-secret-file", s.secFile},
		"unknown flag":        {"keys", "register", "--bogus"},
		"extra argument":      {"keys", "register", "extra"},
		"wizard, no terminal": {"keys", "register"},
	}
	for name, args := range cases {
		code, _, errs := qa(t, home, "p", args...)
		if code != exitUsage {
			t.Errorf("%s: exit %d, want %d (%q)", name, code, exitUsage, errs)
		}
		if strings.Count(strings.TrimSpace(errs), "\n") > 1 {
			t.Errorf("%s: more than a warning and one error line: %q", name, errs)
		}
	}
	assertNothingStored(t, home, "p")
}

func TestKeysRegisterWrongSecretStoresNothing(t *testing.T) {
	s := newKeysSandbox(t)
	home := t.TempDir()
	code, _, errs := qa(t, home, "p", s.registerArgs(s.url, s.wrongSecretFile)...)
	if code != exitFail || !strings.Contains(errs, "checking the API key failed") || !strings.Contains(errs, "nothing was kept") {
		t.Fatalf("exit %d, %q", code, errs)
	}
	if strings.Contains(errs, "d3Jvbmct") {
		t.Fatal("the API secret appears in the error")
	}
	assertNothingStored(t, home, "p")
	if s.srv.OperatorRegistered() {
		t.Fatal("a key reached the sandbox")
	}
}

func TestKeysRegisterWeakPassphraseStoresNothing(t *testing.T) {
	s := newKeysSandbox(t)
	home := t.TempDir()
	args := s.registerArgs(s.url, s.secFile)
	args[4] = s.weakPassFile
	code, _, errs := qa(t, home, "p", args...)
	if code != exitFail || !strings.Contains(errs, "too weak") {
		t.Fatalf("exit %d, %q", code, errs)
	}
	if strings.Contains(errs, "password1") {
		t.Fatal("the passphrase appears in the error")
	}
	assertNothingStored(t, home, "p")
}

// failingProxy forwards to the sandbox but answers 500 to the key
// registration (PUT …/apikeys/…): a failure at step 5.
func failingProxy(t *testing.T, s *keysSandbox) string {
	t.Helper()
	target, err := url.Parse(s.url)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	p := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/apikeys/") {
			http.Error(w, `{"error":"registration is down"}`, http.StatusInternalServerError)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p.URL + target.Path
}

// TestKeysRegisterFailingAtStep5 leaves a consistent state: without
// --keep-on-failure nothing; with it, an unregistered key that keys show
// reports as such, and no journal.
func TestKeysRegisterFailingAtStep5(t *testing.T) {
	s := newKeysSandbox(t)
	u := failingProxy(t, s)
	home := t.TempDir()
	code, _, errs := qa(t, home, "p", s.registerArgs(u, s.secFile)...)
	if code != exitFail || !strings.Contains(errs, "registering the key failed") || !strings.Contains(errs, "nothing was kept") {
		t.Fatalf("exit %d, %q", code, errs)
	}
	assertNothingStored(t, home, "p")
	if cfg, err := storage.LoadConfig(storage.ResolvePaths(home).ConfigFile()); err != nil || cfg.Profiles["p"].APIBaseURL != "" {
		t.Fatalf("config.toml was written for a failed registration: %v %+v", err, cfg)
	}

	code, _, errs = qa(t, home, "p", append(s.registerArgs(u, s.secFile), "--keep-on-failure")...)
	if code != exitFail || !strings.Contains(errs, "kept in the keystore") {
		t.Fatalf("--keep-on-failure: exit %d, %q", code, errs)
	}
	b, err := loadBundle(t, home, "p")
	if err != nil || b.Registered != nil {
		t.Fatalf("kept bundle: %v, registered %v", err, b != nil && b.Registered != nil)
	}
	if _, err := os.Stat(storage.ResolvePaths(home).JournalFile("p")); !os.IsNotExist(err) {
		t.Fatal("a journal exists for an unregistered key")
	}
	if code, out, _ := qa(t, home, "p", "keys", "show"); code != exitOK || !strings.Contains(out, "NOT registered") {
		t.Fatalf("keys show of a kept key: exit %d\n%s", code, out)
	}
	if s.srv.OperatorRegistered() {
		t.Fatal("the sandbox registered a key although the PUT failed")
	}
}

// TestKeysShowAwaitingAdmin: a key whose update still awaits the Admin
// Policy is shown as submitted, not registered, in text and JSON; a
// hostile action ID from the keystore is escaped.
func TestKeysShowAwaitingAdmin(t *testing.T) {
	s := newKeysSandbox(t)
	home := s.register(t)
	b, err := loadBundle(t, home, "p")
	if err != nil {
		t.Fatal(err)
	}
	const id = "2Key\x1b[2JUpdate\u202e"
	b.AwaitingAdmin = id
	if err := secrets.SaveBundle(secrets.NewFileBackend(storage.ResolvePaths(home)), "p", b); err != nil {
		t.Fatal(err)
	}
	code, out, errs := qa(t, home, "p", "keys", "show")
	want := `registration:    submitted, awaiting approval under the Admin Policy (action 2Key\x1b[2JUpdate\u202e)`
	if code != exitOK || !strings.Contains(out, want) || strings.Contains(out, "registration:    registered") {
		t.Fatalf("exit %d %q\n%s", code, errs, out)
	}
	code, out, _ = qa(t, home, "p", "keys", "show", "--json")
	var st keyStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil || code != exitOK || st.AwaitingAdmin != id || strings.ContainsAny(out, "\x1b\u202e") {
		t.Fatalf("--json: %v %+v\n%q", err, st, out)
	}
}
