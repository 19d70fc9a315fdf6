package wrap_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/qapprove/qapprove/storage/wrap"
	"github.com/qapprove/qapprove/storage/wrap/wraptest"
)

var testCtx = wrap.Context{Profile: "desk", APIKeyID: "key-1", BLSFingerprint: "0a1b:2c3d:4e5f:6071"}

func newKMS(t *testing.T, s *wraptest.KMSServer, arn string, timeout time.Duration) *wrap.KMS {
	t.Helper()
	k, err := wrap.NewKMS(context.Background(), wrap.KMSOptions{KeyARN: arn, Region: wraptest.Region, Endpoint: s.Endpoint,
		Timeout: timeout, Credentials: wraptest.Credentials()})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// wantReason checks that err is a wrap refusal of reason r whose message
// names the remedy.
func wantReason(t *testing.T, err error, r wrap.Reason, words ...string) {
	t.Helper()
	if !errors.Is(err, wrap.ErrRefused) || wrap.ReasonOf(err) != r {
		t.Fatalf("err = %v (reason %q), want reason %q", err, wrap.ReasonOf(err), r)
	}
	for _, w := range append(words, "nothing was signed") {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("message %q lacks %q", err.Error(), w)
		}
	}
}

func TestKMSDataKeyLifecycle(t *testing.T) {
	s := wraptest.StartKMS(t)
	arn := s.CreateKey(t)
	k := newKMS(t, s, arn, 5*time.Second)
	dk, rec, use, err := k.NewDataKey(context.Background(), testCtx)
	if err != nil {
		t.Fatal(err)
	}
	if len(dk) != wrap.DataKeySize || rec.Kind != wrap.KindKMS || rec.KeyARN != arn || use.KeyARN != arn {
		t.Fatalf("data key %d bytes, record %+v, use %+v", len(dk), rec, use)
	}
	if bytes.Contains(rec.DataKey, dk) {
		t.Fatal("the record holds the data key in clear")
	}
	got, _, err := k.Unwrap(context.Background(), rec, testCtx)
	if err != nil || !bytes.Equal(got, dk) {
		t.Fatalf("unwrap: %v (same key: %v)", err, bytes.Equal(got, dk))
	}

	other := testCtx
	other.Profile = "other"
	_, _, err = k.Unwrap(context.Background(), rec, other)
	wantReason(t, err, wrap.ReasonContext, "encryption context", "backup")

	s.Disable(t, arn)
	_, _, err = k.Unwrap(context.Background(), rec, testCtx)
	wantReason(t, err, wrap.ReasonDisabled, "disabled", "re-enable")
	s.Enable(t, arn)
	if _, _, err = k.Unwrap(context.Background(), rec, testCtx); err != nil {
		t.Fatalf("after re-enabling: %v", err)
	}

	s.ScheduleDeletion(t, arn)
	_, _, err = k.Unwrap(context.Background(), rec, testCtx)
	wantReason(t, err, wrap.ReasonKeyDeleted, "pending deletion")

	s.Stop()
	_, _, err = k.Unwrap(context.Background(), rec, testCtx)
	wantReason(t, err, wrap.ReasonUnreachable, "could not be reached", s.Endpoint)
}

// TestKMSTimeout: a KMS that accepts connections and never answers gives
// a clear error when the timeout expires.
func TestKMSTimeout(t *testing.T) {
	hang := hangingServer(t)
	k, err := wrap.NewKMS(context.Background(), wrap.KMSOptions{KeyARN: "arn:aws:kms:eu-west-2:111122223333:key/x", Region: wraptest.Region,
		Endpoint: hang, Timeout: 300 * time.Millisecond, Credentials: wraptest.Credentials()})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = k.Unwrap(context.Background(), wrap.Record{Kind: wrap.KindKMS, KeyARN: "arn:aws:kms:eu-west-2:111122223333:key/x", DataKey: []byte{1}}, testCtx)
	wantReason(t, err, wrap.ReasonUnreachable, "within 300ms")
}

func TestPKCS11DataKeyLifecycle(t *testing.T) {
	h := wraptest.StartSoftHSM(t)
	h.GenerateKey(t, "qapprove-wrap")
	p, err := wrap.NewPKCS11(wrap.PKCS11Options{Module: h.Module, Token: h.Token, Label: "qapprove-wrap", PIN: h.PINFunc()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	dk, rec, use, err := p.NewDataKey(context.Background(), testCtx)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Token != h.Token || rec.Label != "qapprove-wrap" || use.Label != "qapprove-wrap" || bytes.Contains(rec.DataKey, dk) {
		t.Fatalf("record %+v, use %+v", rec, use)
	}
	got, _, err := p.Unwrap(context.Background(), rec, testCtx)
	if err != nil || !bytes.Equal(got, dk) {
		t.Fatalf("unwrap: %v", err)
	}
	other := testCtx
	other.APIKeyID = "key-2"
	_, _, err = p.Unwrap(context.Background(), rec, other)
	wantReason(t, err, wrap.ReasonContext, "another profile")

	// Wrong PIN: a fresh wrap (a new login).
	bad, _ := wrap.NewPKCS11(wrap.PKCS11Options{Module: h.Module, Token: h.Token, Label: "qapprove-wrap",
		PIN: func() ([]byte, error) { return []byte("9999"), nil }})
	_, _, err = bad.Unwrap(context.Background(), rec, testCtx)
	wantReason(t, err, wrap.ReasonWrongPIN, "refused the PIN", "security officer")
	bad.Close()

	// Token absent: another token label.
	gone, _ := wrap.NewPKCS11(wrap.PKCS11Options{Module: h.Module, Token: "not-here", Label: "qapprove-wrap", PIN: h.PINFunc()})
	rec2 := rec
	rec2.Token = "not-here"
	_, _, err = gone.Unwrap(context.Background(), rec2, testCtx)
	wantReason(t, err, wrap.ReasonTokenAbsent, "not present", "Insert")
	gone.Close()

	// Key deleted.
	p.Close()
	h.DeleteKey(t, "qapprove-wrap")
	_, _, err = p.Unwrap(context.Background(), rec, testCtx)
	wantReason(t, err, wrap.ReasonKeyDeleted, "no AES key labelled", "HSM administrators")
}

func TestRecordValidate(t *testing.T) {
	good := wrap.Record{Kind: wrap.KindKMS, KeyARN: "arn:aws:kms:eu-west-2:111122223333:key/1", DataKey: []byte{1, 2}}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]wrap.Record{
		"kind":       {Kind: "gpg", KeyARN: "a", DataKey: []byte{1}},
		"no arn":     {Kind: wrap.KindKMS, DataKey: []byte{1}},
		"control":    {Kind: wrap.KindKMS, KeyARN: "arn\x1b[31m", DataKey: []byte{1}},
		"no key":     {Kind: wrap.KindKMS, KeyARN: "a"},
		"big key":    {Kind: wrap.KindKMS, KeyARN: "a", DataKey: make([]byte, 4096)},
		"kms+token":  {Kind: wrap.KindKMS, KeyARN: "a", Token: "t", DataKey: []byte{1}},
		"no label":   {Kind: wrap.KindPKCS11, Token: "t", DataKey: []byte{1}},
		"pkcs11+arn": {Kind: wrap.KindPKCS11, Token: "t", Label: "l", KeyARN: "a", DataKey: []byte{1}},
		"long token": {Kind: wrap.KindPKCS11, Token: strings.Repeat("t", 65), Label: "l", DataKey: []byte{1}},
	} {
		if err := r.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestBox(t *testing.T) {
	dk := bytes.Repeat([]byte{7}, 32)
	box, err := wrap.SealBox(dk, []byte("inner module"), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	if len(box) != len("inner module")+wrap.BoxOverhead {
		t.Fatalf("box is %d bytes", len(box))
	}
	if got, err := wrap.OpenBox(dk, box, []byte("aad")); err != nil || string(got) != "inner module" {
		t.Fatalf("open: %q %v", got, err)
	}
	if _, err := wrap.OpenBox(dk, box, []byte("other")); !errors.Is(err, wrap.ErrBoxAltered) {
		t.Fatalf("other aad: %v", err)
	}
	box[len(box)-1] ^= 1
	if _, err := wrap.OpenBox(dk, box, []byte("aad")); !errors.Is(err, wrap.ErrBoxAltered) {
		t.Fatalf("altered: %v", err)
	}
	if _, err := wrap.OpenBox(dk, box[:5], []byte("aad")); !errors.Is(err, wrap.ErrBoxAltered) {
		t.Fatalf("short: %v", err)
	}
}

// TestKMSRequestID: the request ID AWS sends (x-amzn-RequestId) is what
// the journal records; local-kms sends none, so a proxy adds it.
func TestKMSRequestID(t *testing.T) {
	s := wraptest.StartKMS(t)
	arn := s.CreateKey(t)
	target, _ := url.Parse(s.Endpoint)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = func(r *http.Response) error {
		r.Header.Set("X-Amzn-Requestid", "req-0123-abcd")
		return nil
	}
	proxy := httptest.NewServer(rp)
	defer proxy.Close()
	k, err := wrap.NewKMS(context.Background(), wrap.KMSOptions{KeyARN: arn, Region: wraptest.Region, Endpoint: proxy.URL, Credentials: wraptest.Credentials()})
	if err != nil {
		t.Fatal(err)
	}
	_, rec, use, err := k.NewDataKey(context.Background(), testCtx)
	if err != nil || use.RequestID != "req-0123-abcd" {
		t.Fatalf("NewDataKey: %v, request ID %q", err, use.RequestID)
	}
	if _, use, err = k.Unwrap(context.Background(), rec, testCtx); err != nil || use.RequestID != "req-0123-abcd" {
		t.Fatalf("Unwrap: %v, request ID %q", err, use.RequestID)
	}
}
