package kvt.flink;

import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.functions.ScalarFunction;

/**
 * An input message's event time as the source sees it (detector/flink/job.py): the ISO-8601
 * text parsed as detector.codec does (Z, offset or naive UTC), kept only when plausible:
 * within 2000-2100, at most {@code maxAheadMs} ahead of the latest plausible time seen on its
 * Kafka partition, and at most {@code maxAheadClockMs} ahead of the wall clock (the service's
 * rules for live input, detector.ordering). Only plausible times count as seen, so an
 * implausible one never raises the reference nor, through the source's watermark, the
 * watermark.
 *
 * <p>The planner may evaluate the two functions below on the same rows in several places (the
 * source's per-partition watermark generator, the projection); each instance sees each
 * partition's rows in the same order, so all reach the same verdicts (a seen time only grows;
 * a row compared again against itself is plausible). Like the service's, the reference is not
 * checkpointed: after a restore it starts again from the next plausible time.
 */
public abstract class FutureTime extends ScalarFunction {
  private static final long serialVersionUID = 1L;
  private static final long MIN_MS = 946_684_800_000L; // 2000-01-01
  private static final long MAX_MS = 4_102_444_800_000L; // 2100-01-01
  private final Map<String, Long> latest = new HashMap<>();

  /** The plausible event time, or null when none (absent, unparsable, out of range, future). */
  public static class Time extends FutureTime {
    private static final long serialVersionUID = 1L;

    public @DataTypeHint("TIMESTAMP(3)") LocalDateTime eval(
        String text, String topic, Integer partition, Long maxAheadMs, Long maxAheadClockMs) {
      Long ts = parse(text);
      if (ts == null || judge(ts, topic, partition, maxAheadMs, maxAheadClockMs) != null) {
        return null;
      }
      return LocalDateTime.ofEpochSecond(
          Math.floorDiv(ts, 1000), (int) Math.floorMod(ts, 1000) * 1_000_000, ZoneOffset.UTC);
    }
  }

  /**
   * Why a parsed time is implausibly far ahead, or null: "partition:MS" (the partition's
   * latest time) or "clock:MS" (the wall clock), worded by detector/flink/timeline.py.
   */
  public static class Ahead extends FutureTime {
    private static final long serialVersionUID = 1L;

    public String eval(
        String text, String topic, Integer partition, Long maxAheadMs, Long maxAheadClockMs) {
      Long ts = parse(text);
      return ts == null ? null : judge(ts, topic, partition, maxAheadMs, maxAheadClockMs);
    }
  }

  String judge(long ts, String topic, Integer partition, long maxAheadMs, long maxAheadClockMs) {
    String where = topic + "/" + partition;
    Long known = latest.get(where);
    if (known != null && ts > known + maxAheadMs) {
      return "partition:" + known;
    }
    long now = System.currentTimeMillis();
    if (ts > now + maxAheadClockMs) {
      return "clock:" + now;
    }
    if (known == null || ts > known) {
      latest.put(where, ts);
    }
    return null;
  }

  static Long parse(String text) {
    if (text == null || text.isEmpty()) {
      return null;
    }
    String iso = text.replace(' ', 'T');
    long ms;
    try {
      ms = OffsetDateTime.parse(iso).toInstant().toEpochMilli();
    } catch (DateTimeParseException e) {
      try {
        ms = LocalDateTime.parse(iso).toInstant(ZoneOffset.UTC).toEpochMilli();
      } catch (DateTimeParseException e2) {
        return null;
      }
    }
    return ms >= MIN_MS && ms < MAX_MS ? ms : null;
  }

  @Override
  public boolean isDeterministic() {
    return false;
  }
}
