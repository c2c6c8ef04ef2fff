package opcua

import (
	"fmt"
	"strings"

	"github.com/gopcua/opcua/ua"

	"github.com/edgehmi/edgehmi/backend/hmi"
)

// statusName names a status code as OPC UA Part 4 does ("BadNodeIdUnknown"),
// ignoring the info bits; codes it does not know are given in hex.
func statusName(sc ua.StatusCode) string {
	d, ok := ua.StatusCodes[sc&0xFFFF0000]
	if !ok || d.Name == "" {
		return fmt.Sprintf("0x%08X", uint32(sc&0xFFFF0000))
	}
	return specName(strings.TrimPrefix(d.Name, "Status"))
}

// specName undoes the Go initialisms of gopcua's generated names:
// "BadNodeIDUnknown" is the standard's "BadNodeIdUnknown",
// "BadTCPServerTooBusy" its "BadTcpServerTooBusy".
func specName(name string) string {
	b := []byte(name)
	for i := 0; i < len(b); {
		j := i
		for j < len(b) && b[j] >= 'A' && b[j] <= 'Z' {
			j++
		}
		if j-i < 2 {
			i = max(j, i+1)
			continue
		}
		// A run of capitals: its last one starts the next word when a
		// lower-case letter follows.
		end := j
		if j < len(b) && b[j] >= 'a' && b[j] <= 'z' {
			end = j - 1
		}
		for k := i + 1; k < end; k++ {
			b[k] += 'a' - 'A'
		}
		i = j
	}
	return string(b)
}

// quality maps a status code to a quality by its severity bits; a quality
// short of Good carries the status name as its reason.
func quality(sc ua.StatusCode) (hmi.Quality, string) {
	switch uint32(sc) >> 30 {
	case 0:
		return hmi.Good, ""
	case 1:
		return hmi.Uncertain, statusName(sc)
	}
	return hmi.Bad, statusName(sc)
}

// refusal words a status code that refuses a write for an operator, e.g.
// "value out of range (BadOutOfRange)". The words follow the Modbus
// driver's ("illegal address", "out of range") where they mean the same.
func refusal(sc ua.StatusCode) string {
	name := statusName(sc)
	var words string
	switch sc & 0xFFFF0000 {
	case ua.StatusBadNodeIDUnknown, ua.StatusBadNodeIDInvalid:
		words = "unknown node"
	case ua.StatusBadAttributeIDInvalid:
		words = "the node has no value to write"
	case ua.StatusBadTypeMismatch:
		words = "type mismatch: the node holds another data type"
	case ua.StatusBadOutOfRange:
		words = "value out of range"
	case ua.StatusBadUserAccessDenied:
		words = "access denied for this user"
	case ua.StatusBadNotWritable, ua.StatusBadWriteNotSupported:
		words = "not writable"
	case ua.StatusBadIndexRangeInvalid, ua.StatusBadIndexRangeNoData:
		words = "array element out of range"
	case ua.StatusBadTimeout, ua.StatusBadRequestTimeout:
		words = "timeout"
	case ua.StatusBadNotConnected, ua.StatusBadDeviceFailure, ua.StatusBadCommunicationError:
		words = "the server cannot reach the device"
	default:
		return name
	}
	return words + " (" + name + ")"
}
