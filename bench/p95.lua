-- wrk script: print the 95th percentile latency (ms) and the request count as JSON on the last line.
done = function(summary, latency, requests)
  io.write(string.format('{"p95_ms": %.3f, "requests": %d, "errors": %d}\n',
    latency:percentile(95) / 1000.0, summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout))
end
