package broker

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Metrics holds the broker's Prometheus metrics. Names follow Prometheus
// conventions with a skiff_ prefix.
type Metrics struct {
	Registry    *prometheus.Registry
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	connections prometheus.Gauge
	bytesIn     prometheus.Counter
	bytesOut    prometheus.Counter
	topicIn     *prometheus.CounterVec
	topicOut    *prometheus.CounterVec
	partErrors  *prometheus.CounterVec
}

// NewMetrics creates the registry with the Go runtime and process
// collectors plus Skiff's own metrics.
func NewMetrics() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "skiff_requests_total", Help: "Kafka requests handled, by API, version and top-level error code.",
		}, []string{"api", "version", "error"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "skiff_request_duration_seconds", Help: "Time from reading a request to writing its response, by API.",
			Buckets: prometheus.ExponentialBuckets(0.00005, 2.5, 14),
		}, []string{"api"}),
		connections: prometheus.NewGauge(prometheus.GaugeOpts{Name: "skiff_connections", Help: "Open client connections."}),
		bytesIn:     prometheus.NewCounter(prometheus.CounterOpts{Name: "skiff_network_received_bytes_total", Help: "Bytes of requests received."}),
		bytesOut:    prometheus.NewCounter(prometheus.CounterOpts{Name: "skiff_network_sent_bytes_total", Help: "Bytes of responses sent."}),
		topicIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "skiff_topic_produced_bytes_total", Help: "Record batch bytes appended, by topic.",
		}, []string{"topic"}),
		topicOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "skiff_topic_fetched_bytes_total", Help: "Record batch bytes returned by fetches, by topic.",
		}, []string{"topic"}),
		partErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "skiff_partition_errors_total", Help: "Per-partition errors in produce and fetch responses, by API and error.",
		}, []string{"api", "error"}),
	}
	r.MustRegister(m.requests, m.latency, m.connections, m.bytesIn, m.bytesOut, m.topicIn, m.topicOut, m.partErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func apiName(key int16) string {
	if n := kmsg.NameForKey(key); n != "" {
		return n
	}
	return strconv.Itoa(int(key))
}

var versionLabels = func() []string {
	v := make([]string, 32)
	for i := range v {
		v[i] = strconv.Itoa(i)
	}
	return v
}()

func (m *Metrics) observe(key, version, errCode int16, took time.Duration) {
	ver := strconv.Itoa(int(version))
	if int(version) < len(versionLabels) && version >= 0 {
		ver = versionLabels[version]
	}
	m.requests.WithLabelValues(apiName(key), ver, errName(errCode)).Inc()
	m.latency.WithLabelValues(apiName(key)).Observe(took.Seconds())
}

func (m *Metrics) partitionError(key, code int16) {
	if code != 0 {
		m.partErrors.WithLabelValues(apiName(key), errName(code)).Inc()
	}
}

// partitionCollector reports per-partition log sizes and offsets at scrape
// time, from the broker's current topic view.
type partitionCollector struct {
	b                      *Broker
	size, start, end, lead *prometheus.Desc
}

// RegisterPartitionMetrics adds per-partition gauges to the registry.
func (b *Broker) RegisterPartitionMetrics() {
	labels := []string{"topic", "partition"}
	b.metrics.Registry.MustRegister(&partitionCollector{
		b:     b,
		size:  prometheus.NewDesc("skiff_partition_log_size_bytes", "Bytes of retained record batches.", labels, nil),
		start: prometheus.NewDesc("skiff_partition_log_start_offset", "Log start offset.", labels, nil),
		end:   prometheus.NewDesc("skiff_partition_high_watermark", "High watermark (log end offset).", labels, nil),
		lead:  prometheus.NewDesc("skiff_partition_leader", "1 if this node leads the partition.", labels, nil),
	})
	b.metrics.Registry.MustRegister(newTransformCollector(b))
}

func (c *partitionCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.size
	ch <- c.start
	ch <- c.end
	ch <- c.lead
}

func (c *partitionCollector) Collect(ch chan<- prometheus.Metric) {
	for name, t := range c.b.view.Load().byName {
		if t.isView() {
			continue // its partitions are its source's
		}
		for i, p := range t.parts {
			if p == nil {
				continue
			}
			part := strconv.Itoa(i)
			start, end := p.Offsets()
			lead := 0.0
			if p.IsLeader() {
				lead = 1
			}
			ch <- prometheus.MustNewConstMetric(c.size, prometheus.GaugeValue, float64(p.Size()), name, part)
			ch <- prometheus.MustNewConstMetric(c.start, prometheus.GaugeValue, float64(start), name, part)
			ch <- prometheus.MustNewConstMetric(c.end, prometheus.GaugeValue, float64(end), name, part)
			ch <- prometheus.MustNewConstMetric(c.lead, prometheus.GaugeValue, lead, name, part)
		}
	}
}
