package sim

import (
	"bytes"
	"context"
	"log"
	"log/slog"
	"math"

	"github.com/simonvetter/modbus"
)

// ModbusUnitID is the only unit id the plant's Modbus server answers.
const ModbusUnitID = 1

// Modbus map (0-based addresses).
const (
	CoilValveOpen       = 0 // XV101.Open, writable
	CoilPumpRunning     = 1 // P101.Running, writable
	CoilConveyorRunning = 2 // CV201.Running, writable
	CoilPumpStart       = 3 // P101.Start push button, writable: 1 starts the pump
	CoilPumpStop        = 4 // P101.Stop push button, writable: 1 stops the pump
	numCoils            = 5

	DIPumpFault   = 0 // P101.Fault
	DIConveyorJam = 1 // CV201.Jam
	numDIs        = 2

	IRLevel   = 0 // T101 level × 100 (0..10000)
	IRSpare   = 1 // always 0
	IRCountHi = 2 // CV201.Count, high word
	IRCountLo = 3 // CV201.Count, low word
	numIRs    = 4

	HRSpeed  = 0 // CV201 speed × 10 (0..1000), writable
	numHRs   = 1
	maxHRRaw = 1000
)

// modbusHandler serves the plant's Modbus map. The library calls it from
// one goroutine per client.
type modbusHandler struct {
	plant *Plant
}

// check validates the unit id and that addr..addr+qty-1 lies inside a table of n items.
func check(unit uint8, addr, qty uint16, n int) error {
	if unit != ModbusUnitID {
		return modbus.ErrGWTargetFailedToRespond
	}
	if qty == 0 || int(addr)+int(qty) > n {
		return modbus.ErrIllegalDataAddress
	}
	return nil
}

func (h *modbusHandler) HandleCoils(req *modbus.CoilsRequest) ([]bool, error) {
	if err := check(req.UnitId, req.Addr, req.Quantity, numCoils); err != nil {
		return nil, err
	}
	if req.IsWrite {
		for i, v := range req.Args {
			switch int(req.Addr) + i {
			case CoilValveOpen:
				h.plant.SetValveOpen(v)
			case CoilPumpRunning:
				// A start while faulted is ignored by the plant; the coil
				// reads back false, as a real interlock would.
				h.plant.SetPumpRunning(v)
			case CoilConveyorRunning:
				h.plant.SetConveyorRunning(v)
			case CoilPumpStart:
				h.plant.PressPumpStart(v)
			case CoilPumpStop:
				h.plant.PressPumpStop(v)
			}
		}
		return nil, nil
	}
	st := h.plant.Snapshot()
	all := [numCoils]bool{st.ValveOpen, st.PumpRunning, st.ConveyorRunning, st.StartButton, st.StopButton}
	return append([]bool(nil), all[req.Addr:req.Addr+req.Quantity]...), nil
}

func (h *modbusHandler) HandleDiscreteInputs(req *modbus.DiscreteInputsRequest) ([]bool, error) {
	if err := check(req.UnitId, req.Addr, req.Quantity, numDIs); err != nil {
		return nil, err
	}
	st := h.plant.Snapshot()
	all := [numDIs]bool{st.PumpFault, st.Jam}
	return append([]bool(nil), all[req.Addr:req.Addr+req.Quantity]...), nil
}

func (h *modbusHandler) HandleInputRegisters(req *modbus.InputRegistersRequest) ([]uint16, error) {
	if err := check(req.UnitId, req.Addr, req.Quantity, numIRs); err != nil {
		return nil, err
	}
	st := h.plant.Snapshot()
	all := [numIRs]uint16{
		IRLevel:   uint16(math.Round(clamp(st.Level, 0, 100) * 100)),
		IRSpare:   0,
		IRCountHi: uint16(st.Count >> 16),
		IRCountLo: uint16(st.Count),
	}
	return append([]uint16(nil), all[req.Addr:req.Addr+req.Quantity]...), nil
}

func (h *modbusHandler) HandleHoldingRegisters(req *modbus.HoldingRegistersRequest) ([]uint16, error) {
	if err := check(req.UnitId, req.Addr, req.Quantity, numHRs); err != nil {
		return nil, err
	}
	if req.IsWrite {
		for _, v := range req.Args {
			if v > maxHRRaw {
				return nil, modbus.ErrIllegalDataValue
			}
		}
		for i, v := range req.Args {
			if int(req.Addr)+i == HRSpeed {
				h.plant.SetConveyorSpeed(float64(v) / 10)
			}
		}
		return nil, nil
	}
	st := h.plant.Snapshot()
	all := [numHRs]uint16{
		HRSpeed: uint16(math.Round(clamp(st.ConveyorSpeed, 0, MaxConveyorSpeed) * 10)),
	}
	return append([]uint16(nil), all[req.Addr:req.Addr+req.Quantity]...), nil
}

// newModbusServer builds (but does not start) a Modbus TCP server on addr.
func newModbusServer(addr string, plant *Plant, logger *slog.Logger) (*modbus.ModbusServer, error) {
	return modbus.NewServer(&modbus.ServerConfiguration{
		URL:        "tcp://" + addr,
		MaxClients: 16,
		Logger:     log.New(&modbusLogWriter{logger: logger}, "", 0),
	}, &modbusHandler{plant: plant})
}

// modbusLogWriter turns the library's "prefix [level]: message" lines into slog records.
type modbusLogWriter struct {
	logger *slog.Logger
}

func (w *modbusLogWriter) Write(b []byte) (int, error) {
	msg := string(bytes.TrimSpace(b))
	level := slog.LevelInfo
	switch {
	case bytes.Contains(b, []byte("[error]:")):
		level = slog.LevelError
	case bytes.Contains(b, []byte("[warn]:")):
		level = slog.LevelWarn
	case bytes.Contains(b, []byte("[info]:")):
		level = slog.LevelDebug
	}
	w.logger.Log(context.Background(), level, msg)
	return len(b), nil
}
