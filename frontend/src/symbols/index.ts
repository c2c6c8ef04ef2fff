// The ISA-101 symbol library: one small SVG component per symbol, drawn in
// a w x h box from (0, 0). Every symbol takes w, h and state (running,
// stopped, transition, fault, oos, bad: lib/display.ts symbolState); the
// tank also takes level (0..1), the instrument its label. The bindings of
// each are documented in its file and in docs/displays.md.
import type { Component } from 'svelte';
import type { SymbolName } from '../lib/display';
import Tank from './Tank.svelte';
import Pump from './Pump.svelte';
import Valve from './Valve.svelte';
import ControlValve from './ControlValve.svelte';
import Motor from './Motor.svelte';
import Conveyor from './Conveyor.svelte';
import HeatExchanger from './HeatExchanger.svelte';
import Mixer from './Mixer.svelte';
import Instrument from './Instrument.svelte';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const SYMBOL_COMPONENTS: Record<SymbolName, Component<any>> = {
  tank: Tank,
  pump: Pump,
  valve: Valve,
  control_valve: ControlValve,
  motor: Motor,
  conveyor: Conveyor,
  heat_exchanger: HeatExchanger,
  mixer: Mixer,
  instrument: Instrument,
};
