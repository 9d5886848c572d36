package main

import (
	"fmt"
	"io"
	"strings"
)

// renderShapes writes the ingest comparison: one summary table over the
// shapes, then each shape's corpus, tools, checks, CPU profile and runs.
func renderShapes(w io.Writer, r *report) {
	if len(r.Shapes) == 0 {
		return
	}
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("| shape | input MB | events | partitions | eventlake wall s / CPU s | DuckDB wall s / CPU s | throughput (wall) | CPU ratio | CPU-s per 100 MB (floor %.1f) | peak RSS MiB eventlake / DuckDB | output MB eventlake / DuckDB | files per partition eventlake / DuckDB | rows verified | result |\n", floorCPUPer100MB)
	p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n")
	for _, s := range r.Shapes {
		el, dk := s.tool(toolEventlake), s.tool(toolDuckDB)
		mb := float64(s.Corpus.RawBytes) / 1e6
		row := []string{s.Shape, fmt.Sprintf("%.0f", mb), thousands(s.Corpus.Events), thousands(int64(s.Corpus.Partitions))}
		fig := func(t *toolSummary) string {
			if t == nil {
				return "—"
			}
			return fmt.Sprintf("%.2f / %.2f", t.MedianWallSeconds, t.MedianCPUSeconds)
		}
		row = append(row, fig(el), fig(dk))
		ratio, cpu, per100, rss, out, files, ver := "—", "—", "—", "—", "—", "—", "—"
		if el != nil && dk != nil {
			ratio = fmt.Sprintf("%.2f×", dk.MedianWallSeconds/el.MedianWallSeconds)
			cpu = fmt.Sprintf("%.2f×", dk.MedianCPUSeconds/el.MedianCPUSeconds)
			rss = fmt.Sprintf("%.0f / %.0f", el.PeakRSSMiB, dk.PeakRSSMiB)
			out = fmt.Sprintf("%.1f / %.1f (%.2f×)", el.OutputMB, dk.OutputMB, el.OutputMB/dk.OutputMB)
			files = fmt.Sprintf("%s / %s", filesPerPart(el), filesPerPart(dk))
			ver = fmt.Sprintf("%d/%d, %d/%d", el.Verified, el.Runs, dk.Verified, dk.Runs)
		}
		if el != nil && mb > 0 {
			per100 = fmt.Sprintf("%.2f (%.1f×)", el.MedianCPUSeconds/mb*100, el.MedianCPUSeconds/mb*100/floorCPUPer100MB)
		}
		result := statusPass
		for _, c := range s.Checks {
			if c.Status == statusFail {
				result = statusFail + " (" + shortFigure(c.Figure) + ")"
				break
			}
			if c.Status == statusPending {
				result = statusPending
			}
		}
		if len(s.Checks) == 0 {
			result = statusError
		}
		row = append(row, ratio, cpu, per100, rss, out, files, ver, "**"+result+"**")
		p("| %s |\n", strings.Join(row, " | "))
	}
	p("\n")
	if m := r.Machine; m.NProc > 0 && max(m.LoadAvgStart, m.LoadAvgEnd) > float64(m.NProc) {
		p("The host was busy (load average %.1f–%.1f on %d CPUs): wall times are stretched and their ratios unreliable; the CPU ratio (DuckDB's CPU-s ÷ eventlake's) is the figure to compare.\n\n",
			min(m.LoadAvgStart, m.LoadAvgEnd), max(m.LoadAvgStart, m.LoadAvgEnd), m.NProc)
	}
	for _, s := range r.Shapes {
		renderShape(w, r, s)
	}
}

// filesPerPart is "files/partitions = average (max)".
func filesPerPart(t *toolSummary) string {
	if t.Partitions == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f (max %d)", float64(t.Files)/float64(t.Partitions), t.MaxFilesPerPart)
}

func shortFigure(f string) string {
	if i := strings.Index(f, " ("); i > 0 {
		return f[:i]
	}
	return f
}

func renderShape(w io.Writer, r *report, s *shapeResult) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	c, sp := s.Corpus, s.Spec
	p("#### %s — %s\n\n", s.Shape, s.Title)
	p("Corpus: %d objects, %.1f MB", c.Objects, float64(c.RawBytes)/1e6)
	if sp.Gzip {
		p(", %.1f MB gzipped (%.2f:1)", float64(c.CompressedBytes)/1e6, float64(c.RawBytes)/float64(c.CompressedBytes))
	}
	p("; %s records (%s distinct); %s partitions; seed %d", thousands(c.Events), thousands(c.DistinctEvents), thousands(int64(c.Partitions)), sp.Seed)
	if c.GenerateSeconds > 0 {
		p(" (generated in %.1f s)", c.GenerateSeconds)
	}
	p(".\n\n")
	if len(s.Tools) > 0 {
		p("| tool | median wall s | best wall s | MB/s | records/s | CPU s (median) | peak RSS MiB | output MB | files | rows verified |\n")
		p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
		for _, t := range s.Tools {
			p("| %s | %.2f | %.2f | %.1f | %s | %.2f | %.0f | %.1f | %d | %d/%d runs |\n", t.Tool, t.MedianWallSeconds, t.BestWallSeconds, t.MBPerSecond,
				thousands(int64(t.EventsPerSecond)), t.MedianCPUSeconds, t.PeakRSSMiB, t.OutputMB, t.Files, t.Verified, t.Runs)
		}
		p("\n")
	}
	if len(s.Checks) > 0 {
		p("| figure | eventlake | DuckDB | ratio | target | result |\n|---|---:|---:|---:|---|---|\n")
		for _, c := range s.Checks {
			p("| %s | %s | %s | %s | %s | **%s** |\n", c.Figure, orDash(c.Eventlake), orDash(c.DuckDB), orDash(c.Ratio), c.Target, c.Status)
		}
		p("\n")
	}
	if s.Profile != nil {
		renderProfile(w, s)
	}
	if len(s.Runs) > 0 {
		p("<details><summary>Every run</summary>\n\n")
		p("| round | order | tool | wall s | CPU s | peak RSS MiB | output MB | files | max files per partition | rows |\n|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, x := range s.Runs {
			rows := thousands(x.Rows)
			if !x.Verified {
				rows += " (wrong)"
			}
			p("| %d | %d | %s | %.2f | %.2f | %.0f | %.1f | %d | %d | %s |\n", x.Round, x.Position, x.Tool, x.WallSeconds, x.CPUSeconds, x.PeakRSSMiB,
				float64(x.OutputBytes)/1e6, x.Files, x.MaxFilesPerPartition, rows)
		}
		p("\n</details>\n\n")
	}
}
