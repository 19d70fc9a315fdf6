package wrap

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmw "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// KMSOptions configure the AWS KMS wrap. Credentials and region come from
// the standard AWS chain (environment, shared config, SSO, instance role)
// unless set here.
type KMSOptions struct {
	KeyARN   string        // the key that wraps new data keys (NewDataKey)
	Region   string        // "" = from the AWS chain
	Endpoint string        // "" = the AWS endpoint of the region; e.g. a VPC endpoint or a test server
	Timeout  time.Duration // per call (0 = DefaultTimeout), retries included
	// Credentials overrides the AWS chain (tests).
	Credentials aws.CredentialsProvider
}

// KMS wraps data keys with AWS KMS GenerateDataKey / Decrypt.
type KMS struct {
	opts KMSOptions
	cl   *kms.Client
}

// NewKMS loads the AWS configuration (no network) and returns the wrap.
func NewKMS(ctx context.Context, o KMSOptions) (*KMS, error) {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(s *retry.StandardOptions) { s.MaxAttempts = 2 })
		}),
		config.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(o.Timeout)),
	}
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	if o.Credentials != nil {
		opts = append(opts, config.WithCredentialsProvider(o.Credentials))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, refused(ReasonConfig, "AWS configuration could not be loaded: %s", clip(err.Error()))
	}
	if cfg.Region == "" {
		return nil, refused(ReasonConfig, "no AWS region: set kms_region in config.toml or AWS_REGION")
	}
	cl := kms.NewFromConfig(cfg, func(ko *kms.Options) {
		if o.Endpoint != "" {
			ko.BaseEndpoint = aws.String(o.Endpoint)
		}
	})
	return &KMS{opts: o, cl: cl}, nil
}

// Kind implements Wrapper.
func (k *KMS) Kind() string { return KindKMS }

// Close implements Wrapper.
func (k *KMS) Close() error { return nil }

// NewDataKey implements Wrapper: GenerateDataKey AES_256 under KeyARN
// with the encryption context of c. The record keeps the key's full ARN
// as KMS reports it.
func (k *KMS) NewDataKey(ctx context.Context, c Context) ([]byte, Record, Use, error) {
	if k.opts.KeyARN == "" {
		return nil, Record{}, Use{}, refused(ReasonConfig, "no KMS key: give --kms-key ARN (or kms_key in config.toml)")
	}
	out, err := withTimeout(ctx, k.opts.Timeout, func(ctx context.Context) (*kms.GenerateDataKeyOutput, error) {
		return k.cl.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
			KeyId: aws.String(k.opts.KeyARN), KeySpec: types.DataKeySpecAes256, EncryptionContext: c.kmsContext(),
		})
	}, func(o *kms.GenerateDataKeyOutput) { clear(o.Plaintext) })
	if err != nil {
		return nil, Record{}, Use{}, k.explain(err, k.opts.KeyARN)
	}
	if len(out.Plaintext) != DataKeySize || len(out.CiphertextBlob) == 0 || len(out.CiphertextBlob) > maxWrappedSize {
		clear(out.Plaintext)
		return nil, Record{}, Use{}, refused(ReasonConfig, "AWS KMS returned a data key of an unexpected size")
	}
	arn := aws.ToString(out.KeyId)
	if arn == "" {
		arn = k.opts.KeyARN
	}
	rec := Record{Kind: KindKMS, KeyARN: arn, DataKey: out.CiphertextBlob}
	if err := rec.Validate(); err != nil {
		clear(out.Plaintext)
		return nil, Record{}, Use{}, refused(ReasonConfig, "%v", err)
	}
	return out.Plaintext, rec, k.use(arn, out.ResultMetadata), nil
}

// Unwrap implements Wrapper: KMS Decrypt of the record's data key under
// the record's key and the encryption context of c.
func (k *KMS) Unwrap(ctx context.Context, rec Record, c Context) ([]byte, Use, error) {
	if rec.Kind != KindKMS {
		return nil, Use{}, refused(ReasonConfig, "the keystore is wrapped by %s, not AWS KMS", clip(rec.Kind))
	}
	out, err := withTimeout(ctx, k.opts.Timeout, func(ctx context.Context) (*kms.DecryptOutput, error) {
		return k.cl.Decrypt(ctx, &kms.DecryptInput{
			KeyId: aws.String(rec.KeyARN), CiphertextBlob: rec.DataKey, EncryptionContext: c.kmsContext(),
		})
	}, func(o *kms.DecryptOutput) { clear(o.Plaintext) })
	if err != nil {
		return nil, Use{}, k.explain(err, rec.KeyARN)
	}
	if len(out.Plaintext) != DataKeySize {
		clear(out.Plaintext)
		return nil, Use{}, refused(ReasonContext, "AWS KMS returned a data key of an unexpected size for key %s", rec.KeyARN)
	}
	return out.Plaintext, k.use(rec.KeyARN, out.ResultMetadata), nil
}

func (k *KMS) use(arn string, md middleware.Metadata) Use {
	id, _ := awsmw.GetRequestIDMetadata(md)
	return Use{Kind: KindKMS, KeyARN: arn, RequestID: clip(id)}
}

// explain turns a KMS error into an *Error that says who can restore
// access. The AWS error text is quoted (bounded): it holds no secret.
func (k *KMS) explain(err error, arn string) error {
	nothing := "unlock refused, nothing was signed"
	var (
		disabled *types.DisabledException
		notFound *types.NotFoundException
		state    *types.KMSInvalidStateException
		badCT    *types.InvalidCiphertextException
		wrongKey *types.IncorrectKeyException
		api      smithy.APIError
	)
	switch {
	case errors.As(err, &disabled):
		return refused(ReasonDisabled, "the AWS KMS key %s is disabled: %s. The key's administrators (your security team, in AWS KMS) can re-enable it", arn, nothing)
	case errors.As(err, &notFound):
		return refused(ReasonKeyDeleted, "the AWS KMS key %s does not exist (deleted, or in another account or region): %s. Restore the key from a backup made under another wrap, or ask your security team", arn, nothing)
	case errors.As(err, &state):
		return refused(ReasonKeyDeleted, "the AWS KMS key %s cannot be used in its state (pending deletion or import): %s. Your security team can cancel a scheduled deletion during its waiting period", arn, nothing)
	case errors.As(err, &badCT), errors.As(err, &wrongKey):
		return refused(ReasonContext, "AWS KMS refused to decrypt the data key under key %s: the encryption context (profile, API key ID, BLS fingerprint) differs from the one it was wrapped with, or the wrapped key was altered; %s. Restore the keystore from its backup", arn, nothing)
	case errors.As(err, &api) && (api.ErrorCode() == "AccessDeniedException" || api.ErrorCode() == "UnrecognizedClientException" || api.ErrorCode() == "InvalidSignatureException"):
		return refused(ReasonDenied, "AWS KMS denied this desk the use of key %s (%s): %s. Your security team, who manage the key policy and the IAM role, can restore access", arn, clip(api.ErrorMessage()), nothing)
	case errors.Is(err, context.DeadlineExceeded) || isNetErr(err):
		return refused(ReasonUnreachable, "AWS KMS could not be reached within %s (%s): %s. Check the network, kms_endpoint and kms_region", k.opts.Timeout, k.where(), nothing)
	case errors.As(err, &api):
		return refused(ReasonDenied, "AWS KMS refused key %s: %s (%s): %s", arn, api.ErrorCode(), clip(api.ErrorMessage()), nothing)
	}
	return refused(ReasonUnreachable, "AWS KMS call for key %s failed (%s): %s. Check the AWS credentials, the network and kms_endpoint", arn, clip(err.Error()), nothing)
}

func (k *KMS) where() string {
	if k.opts.Endpoint != "" {
		return "endpoint " + k.opts.Endpoint
	}
	return "region " + k.cl.Options().Region
}

func isNetErr(err error) bool {
	var ne net.Error
	var oe *net.OpError
	return errors.As(err, &ne) || errors.As(err, &oe)
}
