import { messageChannelFixture, runNetworkAdapterTests } from '@clinic-mesh/testing'

// The stock adapter announces each peer twice (arrive + welcome); automerge-repo tolerates it.
runNetworkAdapterTests('MessageChannelNetworkAdapter (stock)', messageChannelFixture, {
  exactlyOnePeerCandidate: false,
})
