package governance

import (
	"strings"
	"testing"
)

// Valid addresses: EIP-55's examples, and Bitcoin addresses of every type
// from the Bitcoin wiki, BIP 173 and BIP 350.
var validAddresses = []struct{ family, addr string }{
	{"evm", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"},
	{"evm", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"},
	{"evm", "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB"},
	{"evm", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"},
	{"evm", "0x52908400098527886E0F7030069857D2E4169EE7"}, // all caps
	{"evm", "0x8617E340B3D01FA5F11F306F4090FD50E238070D"},
	{"evm", "0xde709f2102306220921060314715629080e2fb77"}, // all lower
	{"evm", "0x27b1fdb04752bbc536007a920d24acb045561c26"},
	{"EVM", "0x1111111111111111111111111111111111111111"},
	{"bitcoin", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"},                                         // P2PKH
	{"bitcoin", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"},                                         // P2PKH
	{"bitcoin", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"},                                         // P2SH
	{"bitcoin", "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn"},                                         // testnet P2PKH
	{"bitcoin", "2MzQwSSnBHWHqSAqtTVQ6v47XtaisrJa1Vc"},                                        // testnet P2SH
	{"bitcoin", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"},                                 // P2WPKH
	{"bitcoin", "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4"},                                 // upper case
	{"bitcoin", "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3"},             // P2WSH
	{"bitcoin", "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7"},             // testnet P2WSH
	{"bitcoin", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"},             // taproot (bech32m)
	{"bitcoin", "tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c"},             // testnet taproot
	{"bitcoin", "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y"}, // version 1, 40 bytes
	{"bitcoin", "BC1SW50QGDZ25J"},                                                             // version 16, 2 bytes
	{"bitcoin", "bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs"},                                       // version 2, 16 bytes
	{"bitcoin", "bcrt1qs758ursh4q9z627kt3pp5yysm78ddny6txaqgw"},                               // regtest
}

func TestValidAddresses(t *testing.T) {
	for _, c := range validAddresses {
		if why, judged := CheckAddress(c.family, c.addr); why != "" || !judged {
			t.Errorf("%s %s: %q judged=%v, want valid", c.family, c.addr, why, judged)
		}
	}
}

// Each valid address with one character changed (or a known-invalid
// vector) must be reported, with a reason naming what is wrong.
func TestMalformedAddresses(t *testing.T) {
	cases := []struct{ family, addr, want string }{
		{"evm", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", "EIP-55"},  // case of the last letter flipped
		{"evm", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAee", "EIP-55"},  // last letter changed
		{"evm", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d358", "EIP-55"},  // last digit changed
		{"evm", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDB", "EIP-55"},  //
		{"evm", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe", "40 hex"},   // one short
		{"evm", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAedd", "40 hex"}, // one long
		{"evm", "0X5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "40 hex"},  // 0X
		{"evm", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeg", "40 hex"},  // not hex
		{"evm", "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed00", "40 hex"},  // no 0x
		{"evm", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeA\u202e", "40 hex"},
		{"bitcoin", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", "checksum"},                                    // P2PKH, last char
		{"bitcoin", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DjvfNa", "checksum"},                                    // P2PKH, a middle char
		{"bitcoin", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLz", "checksum"},                                    // P2SH
		{"bitcoin", "2MzQwSSnBHWHqSAqtTVQ6v47XtaisrJa1Vd", "checksum"},                                   // testnet P2SH
		{"bitcoin", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfN0", "Base58 alphabet"},                             // 0 is not Base58
		{"bitcoin", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNl", "Base58 alphabet"},                             // l is not Base58
		{"bitcoin", "1A1zP1eP5QGefi2DMPTf", "26 to 35"},                                                  // too short
		{"bitcoin", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNaDivfNa", "26 to 35"},                              // too long
		{"bitcoin", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", "checksum"},                            // P2WPKH, last char
		{"bitcoin", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3tb", "bech32 alphabet"},                     // b is not bech32
		{"bitcoin", "bc1qw508d6qejxtdg4y5r3zarvary0C5xw7kv8f3t4", "mixes"},                               // mixed case
		{"bitcoin", "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv4", "checksum"},        // P2WSH
		{"bitcoin", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj2", "checksum"},        // taproot
		{"bitcoin", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd", "bech32m"},         // BIP 350: v1 with bech32
		{"bitcoin", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh", "bech32, not bech32m"},                 // BIP 350: v0 with bech32m
		{"bitcoin", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf", "padding"},       // BIP 350: more than 4 bits of padding
		{"bitcoin", "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j", "padding"},         // BIP 350: non-zero padding
		{"bitcoin", "bc1zw508d6qejxtdg4y5r3zarvaryvqyzf3du", "bech32m"},                                  // BIP 173 vector: v2 with bech32
		{"bitcoin", "bc1gmk9yu", "too short"},                                                            // BIP 173: empty program
		{"bitcoin", "BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P", "version 0"},                                 // BIP 173: v0, 16 bytes
		{"bitcoin", "bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4", "bech32 alphabet"}, // BIP 350: o
		{"bitcoin", "bc1pw5dgrnzv", "too short"},                                                         // BIP 350: 1-byte program
		{"bitcoin", "bc1p" + strings.Repeat("q", 87), "longer"},                                          // 91 characters
		{"bitcoin", "1111111111111111111111111111111111", "25 bytes"},                                    // zero value
	}
	for _, c := range cases {
		why, judged := CheckAddress(c.family, c.addr)
		if !judged || why == "" {
			t.Errorf("%s %s: accepted", c.family, c.addr)
			continue
		}
		if !strings.Contains(why, c.want) {
			t.Errorf("%s %s: %q, want it to mention %q", c.family, c.addr, why, c.want)
		}
	}
}

func TestUnknownFamilyIsNotJudged(t *testing.T) {
	for _, f := range []string{"", "solana", "cosmos"} {
		if why, judged := CheckAddress(f, "anything at all"); why != "" || judged {
			t.Errorf("family %q: %q judged=%v, want not judged", f, why, judged)
		}
	}
}

// Every mutation of one character of a valid address is caught (or
// yields another valid address, which for these checksums is very rare).
func TestEveryOneCharacterChangeIsCaught(t *testing.T) {
	for _, c := range validAddresses {
		alphabet := base58Alphabet
		if c.family != "bitcoin" {
			alphabet = "0123456789abcdefABCDEF"
		} else if strings.Contains("bBtT", c.addr[:1]) {
			alphabet = bech32Charset
		}
		start := 0
		if strings.HasPrefix(c.addr, "0x") {
			start = 2
		}
		body := c.addr[start:]
		mixed := strings.ToLower(body) != body && strings.ToUpper(body) != body
		caught, total := 0, 0
		for i := start; i < len(c.addr); i++ {
			for j := 0; j < len(alphabet); j++ {
				b := []byte(c.addr)
				if alphabet[j] == b[i] {
					continue
				}
				b[i] = alphabet[j]
				if c.family == "bitcoin" && alphabet == bech32Charset && strings.ToUpper(c.addr) == c.addr {
					b[i] = strings.ToUpper(alphabet[j : j+1])[0]
				}
				if strings.EqualFold(string(b), c.addr) && !mixed {
					continue // a case change of a one-case EVM address carries no checksum
				}
				total++
				if why, _ := CheckAddress(c.family, string(b)); why != "" {
					caught++
				}
			}
		}
		// EIP-55 catches a change with probability about 1-2^-(letters);
		// an all-one-case EVM address carries no checksum at all.
		if c.family == "bitcoin" || mixed {
			if caught < total*99/100 {
				t.Errorf("%s: %d of %d one-character changes caught", c.addr, caught, total)
			}
		}
	}
}
