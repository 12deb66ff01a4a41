package kvt.flink;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.types.Row;
import org.apache.flink.util.Collector;

/**
 * Releases each customer's input rows in the engine's order (event time, clicks before
 * payments, id) once the watermark has passed them; a row already behind the watermark (late,
 * or with no usable time: a poison message) goes at once. Buffer and timers are Flink's own
 * keyed state, so a restore from a checkpoint holds exactly the rows not yet released.
 *
 * <p>Row fields (detector/flink/job.py): value, topic, partition, offset, event_time,
 * customer, kind (0 click, 1 payment), id, key, ahead.
 */
public class EventTimeSorter extends KeyedProcessFunction<String, Row, Row> {
  private static final long serialVersionUID = 1L;
  private static final Comparator<Row> ORDER =
      Comparator.comparing((Row r) -> (Integer) r.getField(6))
          .thenComparing(r -> r.getField(7) == null ? "" : (String) r.getField(7));

  private final TypeInformation<Row> rowType;
  private transient MapState<Long, List<Row>> waiting;

  public EventTimeSorter(TypeInformation<Row> rowType) {
    this.rowType = rowType;
  }

  @Override
  public void open(OpenContext context) {
    waiting =
        getRuntimeContext()
            .getMapState(new MapStateDescriptor<>("waiting", Types.LONG, Types.LIST(rowType)));
  }

  @Override
  public void processElement(Row row, Context ctx, Collector<Row> out) throws Exception {
    Long ts = ctx.timestamp();
    if (ts == null || ts <= ctx.timerService().currentWatermark()) {
      out.collect(row);
      return;
    }
    List<Row> rows = waiting.get(ts);
    if (rows == null) {
      rows = new ArrayList<>();
      ctx.timerService().registerEventTimeTimer(ts);
    }
    rows.add(row);
    waiting.put(ts, rows);
  }

  @Override
  public void onTimer(long ts, OnTimerContext ctx, Collector<Row> out) throws Exception {
    List<Row> rows = waiting.get(ts);
    if (rows == null) {
      return;
    }
    waiting.remove(ts);
    rows.sort(ORDER);
    for (Row r : rows) {
      out.collect(r);
    }
  }
}
