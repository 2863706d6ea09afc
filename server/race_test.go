//go:build race

package server

// raceEnabled: the race detector slows the crash test's server process and
// phones several times over, so its default run is smaller.
const raceEnabled = true
