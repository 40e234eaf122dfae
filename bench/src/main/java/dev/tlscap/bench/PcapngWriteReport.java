// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.bench;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.profile.GCProfiler;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Runs {@link PcapngWriteBenchmark} with the GC profiler and prints one table: EPBs/s and MB/s of
 * the writer and of a plain FileChannel writing the same bytes (medians of the measured
 * iterations), their ratio, and the bytes allocated per packet.
 *
 * <p>Arguments: {@code [iterations] [forks]} (default 5 and 1).
 */
public final class PcapngWriteReport {
  private PcapngWriteReport() {}

  public static void main(String[] args) throws Exception {
    int iterations = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    int forks = args.length > 1 ? Integer.parseInt(args[1]) : 1;
    Options options = new OptionsBuilder()
        .include(PcapngWriteBenchmark.class.getName() + "\\.")
        .addProfiler(GCProfiler.class)
        .warmupIterations(3).warmupTime(TimeValue.seconds(1))
        .measurementIterations(iterations).measurementTime(TimeValue.seconds(1))
        .forks(forks)
        .jvmArgsAppend("-Xms1g", "-Xmx1g")
        .build();
    Collection<RunResult> results = new Runner(options).run();

    List<String[]> rows = new ArrayList<>();
    for (String size : new String[] {"64", "1500"}) {
      for (String annotated : new String[] {"false", "true"}) {
        RunResult writer = find(results, "pcapngWriter", size, annotated);
        RunResult plain = find(results, "plainFileChannel", size, annotated);
        if (writer == null || plain == null) {
          continue;
        }
        int epb = PcapngWriteBenchmark.epbSize(Integer.parseInt(size), Boolean.parseBoolean(annotated));
        double w = median(writer);
        double p = median(plain);
        rows.add(new String[] {size, annotated.equals("true") ? "dir+comment+pid" : "direction", Integer.toString(epb),
            fmt("%.2f M", w / 1e6), fmt("%.0f", w * epb / 1e6), fmt("%.2f M", p / 1e6), fmt("%.0f", p * epb / 1e6),
            fmt("%.2f", w / p), fmt("%.3f", allocationPerOp(writer))});
      }
    }
    String[] header = {"packet B", "EPB options", "EPB B", "writer EPB/s", "writer MB/s", "FileChannel EPB/s",
        "FileChannel MB/s", "ratio", "writer alloc B/op"};
    System.out.println();
    System.out.println("pcapng-writer encode+write vs plain FileChannel (medians of " + iterations * forks
        + " iterations of 1 s: " + iterations + " in each of " + forks + " fork(s); "
        + Runtime.getRuntime().availableProcessors() + " CPUs)");
    print(header, rows);
  }

  private static RunResult find(Collection<RunResult> results, String method, String size, String annotated) {
    for (RunResult r : results) {
      BenchmarkParams params = r.getParams();
      if (params.getBenchmark().endsWith("." + method) && params.getParam("packetSize").equals(size)
          && params.getParam("annotated").equals(annotated)) {
        return r;
      }
    }
    return null;
  }

  private static double median(RunResult r) {
    List<Double> scores = new ArrayList<>();
    r.getBenchmarkResults().forEach(b -> {
      for (IterationResult i : b.getIterationResults()) {
        scores.add(i.getPrimaryResult().getScore());
      }
    });
    double[] s = scores.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  }

  private static double allocationPerOp(RunResult r) {
    for (Map.Entry<String, Result> e : r.getSecondaryResults().entrySet()) {
      if (e.getKey().endsWith("gc.alloc.rate.norm")) {
        return e.getValue().getScore();
      }
    }
    return Double.NaN;
  }

  private static String fmt(String format, double v) {
    return String.format(Locale.ROOT, format, v);
  }

  private static void print(String[] header, List<String[]> rows) {
    int[] width = new int[header.length];
    for (int i = 0; i < header.length; i++) {
      width[i] = header[i].length();
      for (String[] row : rows) {
        width[i] = Math.max(width[i], row[i].length());
      }
    }
    StringBuilder line = new StringBuilder("|");
    StringBuilder rule = new StringBuilder("|");
    for (int i = 0; i < header.length; i++) {
      line.append(' ').append(pad(header[i], width[i])).append(" |");
      rule.append('-').append("-".repeat(width[i])).append(i == 0 ? "-|" : ":|");
    }
    System.out.println(line);
    System.out.println(rule);
    for (String[] row : rows) {
      StringBuilder r = new StringBuilder("|");
      for (int i = 0; i < row.length; i++) {
        r.append(' ').append(i == 0 ? pad(row[i], width[i]) : padLeft(row[i], width[i])).append(" |");
      }
      System.out.println(r);
    }
  }

  private static String pad(String s, int w) {
    return s + " ".repeat(w - s.length());
  }

  private static String padLeft(String s, int w) {
    return " ".repeat(w - s.length()) + s;
  }
}
