package api

import (
	"context"
	"errors"

	"github.com/edgehmi/edgehmi/backend/driver"
	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/poll"
	"github.com/edgehmi/edgehmi/backend/tags"
)

// Writer is the one unaudited write path to devices: the tag database's
// checks (writable, type, limits, scaling to raw), then the device's
// poller. Operator commands use it after the role and interlock checks,
// and audit what it did; control loops and interlock forces use it as it
// is (they are not commands, and their writes are not audited).
type Writer struct {
	db      *tags.DB
	devices map[string]*poll.Device
}

// NewWriter returns the write path over the tag database and the devices'
// pollers (by device name).
func NewWriter(db *tags.DB, devices map[string]*poll.Device) *Writer {
	return &Writer{db: db, devices: devices}
}

// Write writes an engineering value to tag i's device and returns the raw
// value written. It returns when the device has answered. Errors are
// *Error with a code and a sentence naming the tag.
func (w *Writer) Write(ctx context.Context, i int, v hmi.Value) (hmi.Value, error) {
	def := w.db.Def(i)
	raw, err := w.db.ToRaw(i, v)
	switch {
	case errors.Is(err, tags.ErrNotWritable):
		return hmi.Value{}, errorf(CodeConflict, err, "%s is read-only", def.Name)
	case err != nil:
		return hmi.Value{}, errorf(CodeInvalid, err, "%v", err)
	}
	dev, ok := w.devices[def.Device]
	if !ok {
		return hmi.Value{}, errorf(CodeUnavailable, nil, "device %q of %s is not running", def.Device, def.Name)
	}
	if err := dev.WriteFrom(ctx, w.db, i, raw); err != nil {
		switch {
		case errors.Is(err, poll.ErrRebound):
			return hmi.Value{}, errorf(CodeConflict, err, "%s was not written: %v", def.Name, err)
		case errors.Is(err, driver.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
			return hmi.Value{}, errorf(CodeTimeout, err, "device %q did not answer the write of %s in time", def.Device, def.Name)
		case errors.Is(err, driver.ErrBadValue):
			return hmi.Value{}, errorf(CodeInvalid, err, "device %q refused the value for %s: %v", def.Device, def.Name, err)
		case errors.Is(err, driver.ErrReadOnly):
			return hmi.Value{}, errorf(CodeConflict, err, "device %q does not let %s be written: %v", def.Device, def.Name, err)
		default:
			return hmi.Value{}, errorf(CodeUnavailable, err, "device %q refused the write of %s: %v", def.Device, def.Name, err)
		}
	}
	return raw, nil
}

// WriteTag is Write for the control loops and interlocks (control.Writer).
func (w *Writer) WriteTag(ctx context.Context, i int, v hmi.Value) error {
	_, err := w.Write(ctx, i, v)
	return err
}
