package awsemu

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Events of DB clusters, as DescribeEvents lists them. The emulator records
// the failover category only, with the event identifiers and messages of the
// Aurora User Guide ("Amazon RDS event categories and event messages for
// Aurora", DB cluster events):
//   - RDS-EVENT-0073 "Started cross AZ failover to DB instance" when a
//     failover starts (the emulator does not tell same-zone from cross-zone
//     failovers, and names the target when one was asked for);
//   - RDS-EVENT-0071 "Completed failover to DB instance" when it ends.
//
// An event shows EventLag after it happened. DescribeEvents returns the past
// hour by default and 14 days at most (RDS API Reference, DescribeEvents);
// MaxRecords is 20 to 100 (default 100), and Marker pages on.
type event struct {
	at         time.Time
	sourceType string // db-cluster
	source     string
	category   string
	message    string
}

func (e *Emulator) addEvent(at time.Time, cluster, message string) {
	e.events = append(e.events, event{at: at, sourceType: "db-cluster", source: cluster, category: "failover", message: message})
}

type xEvent struct {
	XMLName          struct{} `xml:"Event"`
	SourceIdentifier string   `xml:"SourceIdentifier"`
	SourceType       string   `xml:"SourceType"`
	SourceArn        string   `xml:"SourceArn"`
	Message          string   `xml:"Message"`
	Categories       []string `xml:"EventCategories>EventCategory"`
	Date             string   `xml:"Date"`
}

func (e *Emulator) describeEvents(p map[string]string) (string, *apiError) {
	now := e.clock.Now()
	visible := now.Add(-e.opt.EventLag)
	start, end := now.Add(-time.Hour), now
	if v := p["StartTime"]; v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return "", apiErr(http.StatusBadRequest, "InvalidParameterValue", "Invalid StartTime %s.", v)
		}
		start = t
	}
	if v := p["EndTime"]; v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return "", apiErr(http.StatusBadRequest, "InvalidParameterValue", "Invalid EndTime %s.", v)
		}
		end = t
	}
	if v := p["Duration"]; v != "" {
		m, err := strconv.Atoi(v)
		if err != nil || m < 0 {
			return "", apiErr(http.StatusBadRequest, "InvalidParameterValue", "Invalid Duration %s.", v)
		}
		start = end.Add(-time.Duration(m) * time.Minute)
	}
	if start.Before(now.Add(-14 * 24 * time.Hour)) {
		start = now.Add(-14 * 24 * time.Hour)
	}
	if (p["SourceIdentifier"] != "") != (p["SourceType"] != "") {
		return "", apiErr(http.StatusBadRequest, "InvalidParameterCombination", "SourceIdentifier and SourceType must be given together.")
	}
	var cats []string
	for n := 1; ; n++ {
		v, ok := p[fmt.Sprintf("EventCategories.EventCategory.%d", n)]
		if !ok {
			break
		}
		cats = append(cats, v)
	}
	maxRecords := 100
	if v := p["MaxRecords"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 20 || n > 100 {
			return "", apiErr(http.StatusBadRequest, "InvalidParameterValue", "MaxRecords must be between 20 and 100.")
		}
		maxRecords = n
	}
	from := 0
	if v := p["Marker"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return "", apiErr(http.StatusBadRequest, "InvalidParameterValue", "Invalid Marker %s.", v)
		}
		from = n
	}
	var match []event
	for _, ev := range e.events {
		switch {
		case ev.at.After(visible), ev.at.Before(start), ev.at.After(end):
		case p["SourceType"] != "" && (ev.sourceType != p["SourceType"] || ev.source != p["SourceIdentifier"]):
		case len(cats) > 0 && !slices.Contains(cats, ev.category):
		default:
			match = append(match, ev)
		}
	}
	var b strings.Builder
	b.WriteString("<Events>")
	for i := from; i < len(match) && i < from+maxRecords; i++ {
		ev := match[i]
		b.WriteString(marshal(xEvent{SourceIdentifier: ev.source, SourceType: ev.sourceType, SourceArn: e.arn("cluster", ev.source),
			Message: ev.message, Categories: []string{ev.category}, Date: ev.at.UTC().Format(time.RFC3339)}))
	}
	b.WriteString("</Events>")
	if from+maxRecords < len(match) {
		fmt.Fprintf(&b, "<Marker>%d</Marker>", from+maxRecords)
	}
	return b.String(), nil
}
