package alarm

// Adopt takes over the run-time state of old's alarms whose definition is
// the same in s (a project reload): state, acknowledgement, shelving, out of
// service, suppression, pending delays, the first-out marks and the horn,
// so an unchanged alarm goes on as if nothing had happened. Alarms new or
// changed in s start normal. old must not be used afterwards. It returns
// the names of the alarms adopted.
func (s *Set) Adopt(old *Set) []string {
	var names []string
	for _, m := range s.alarms {
		o := old.byName[m.name]
		if o == nil || !m.sameDefinition(o) {
			continue
		}
		m.cond, m.pending, m.pendingAt = o.cond, o.pending, o.pendingAt
		m.x, m.pv, m.sp, m.pvOK, m.spOK, m.roc = o.x, o.pv, o.sp, o.pvOK, o.spOK, o.roc
		m.state, m.flags, m.sounding, m.value = o.state, o.flags, o.sounding, o.value
		m.activeSince, m.changedAt, m.ackedBy = o.activeSince, o.changedAt, o.ackedBy
		m.shelvedBy, m.shelveNote, m.shelveUntil, m.oneShot, m.oosBy = o.shelvedBy, o.shelveNote, o.shelveUntil, o.oneShot, o.oosBy
		names = append(names, m.name)
	}
	// The counts follow from the alarms: the horn, and each group's busy
	// alarms and first out (kept only when the first out was adopted).
	s.sounding = 0
	for _, g := range s.groups {
		g.busy, g.first = 0, nil
	}
	for _, m := range s.alarms {
		if m.sounds() {
			s.sounding++
		}
		if m.group != nil && m.busy() {
			m.group.busy++
		}
	}
	for _, m := range s.alarms {
		if m.flags&FlagFirstOut == 0 {
			continue
		}
		if g := m.group; g != nil && g.busy > 0 && g.first == nil {
			g.first = m
		} else {
			m.flags &^= FlagFirstOut
		}
	}
	s.silenced = old.silenced
	return names
}

// sameDefinition reports whether two alarms are defined alike.
func (m *machine) sameDefinition(o *machine) bool {
	gname := func(g *group) string {
		if g == nil {
			return ""
		}
		return g.name
	}
	return m.name == o.name && m.tag == o.tag && m.device == o.device && m.setpoint == o.setpoint &&
		m.typ == o.typ && m.dir == o.dir && m.priority == o.priority &&
		same(m.limit, o.limit) && same(m.deadband, o.deadband) && same(m.equals, o.equals) &&
		m.onDelay == o.onDelay && m.offDelay == o.offDelay && m.maxShelve == o.maxShelve && m.latched == o.latched &&
		m.message == o.message && m.area == o.area && gname(m.group) == gname(o.group) &&
		m.condTag == o.condTag && same(m.condEquals, o.condEquals)
}

// same compares two numbers of a definition (NaN, "not set", equals NaN).
func same(a, b float64) bool { return a == b || a != a && b != b }
