package governance

import "strings"

// knownNetworks are the networks qapprove knows by chain ID: the test and
// production networks the default rules list, and a few more test networks.
var knownNetworks = map[string]Network{}

func init() {
	for _, n := range []struct {
		id, name, family string
		testnet          bool
	}{
		{"1", "Ethereum", FamilyEVM, false},
		{"11155111", "Ethereum Sepolia", FamilyEVM, true},
		{"17000", "Ethereum Holesky", FamilyEVM, true},
		{"560048", "Ethereum Hoodi", FamilyEVM, true},
		{"137", "Polygon", FamilyEVM, false},
		{"80002", "Polygon Amoy", FamilyEVM, true},
		{"56", "BNB Chain", FamilyEVM, false},
		{"97", "BNB Chain testnet", FamilyEVM, true},
		{"42161", "Arbitrum One", FamilyEVM, false},
		{"421614", "Arbitrum Sepolia", FamilyEVM, true},
		{"10", "OP Mainnet", FamilyEVM, false},
		{"11155420", "OP Sepolia", FamilyEVM, true},
		{"8453", "Base", FamilyEVM, false},
		{"84532", "Base Sepolia", FamilyEVM, true},
		{"43114", "Avalanche C-Chain", FamilyEVM, false},
		{"43113", "Avalanche Fuji", FamilyEVM, true},
		{"bitcoin", "Bitcoin", FamilyBitcoin, false},
		{"bitcoin-testnet", "Bitcoin testnet", FamilyBitcoin, true},
		{"bitcoin-signet", "Bitcoin signet", FamilyBitcoin, true},
		{"bitcoin-regtest", "Bitcoin regtest", FamilyBitcoin, true},
	} {
		knownNetworks[n.id] = Network{Name: n.name, ChainID: n.id, ChainIDInt: chainIDInt(n.id), Family: n.family, Testnet: n.testnet}
	}
}

// LookupNetwork returns the network qapprove knows by this chain ID
// ("11155111", "bitcoin-testnet"): its name, family and whether it is a
// test network.
func LookupNetwork(chainID string) (Network, bool) {
	n, ok := knownNetworks[chainID]
	return n, ok
}

// familyOf is the family a chain ID implies: a decimal chain ID is EVM, a
// bitcoin name is Bitcoin, anything else is unknown ("").
func familyOf(chainID string) string {
	if chainIDInt(chainID) > 0 {
		return FamilyEVM
	}
	if chainID == "bitcoin" || strings.HasPrefix(chainID, "bitcoin-") {
		return FamilyBitcoin
	}
	return ""
}
