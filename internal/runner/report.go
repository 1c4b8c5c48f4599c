package runner

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"time"

	"github.com/websocket-workbook/workbook/internal/catalog"
)

// gradescopeResults is Gradescope's results.json for an autograder: one
// "test" per exercise, scored in points.
// See https://gradescope-autograders.readthedocs.io/en/latest/specs/.
type gradescopeResults struct {
	Score         int              `json:"score"`
	ExecutionTime int              `json:"execution_time"` // seconds
	Visibility    string           `json:"visibility"`
	Tests         []gradescopeTest `json:"tests"`
}

type gradescopeTest struct {
	Name       string `json:"name"`
	Score      int    `json:"score"`
	MaxScore   int    `json:"max_score"`
	Status     string `json:"status"` // "passed" or "failed"
	Output     string `json:"output,omitempty"`
	Visibility string `json:"visibility"`
}

// writeGradescope writes the grade as Gradescope's results.json.
func writeGradescope(path string, g *Grade, elapsed time.Duration) error {
	res := gradescopeResults{
		Score:         g.Score,
		ExecutionTime: int(elapsed.Round(time.Second) / time.Second),
		Visibility:    "visible",
		Tests:         []gradescopeTest{},
	}
	for _, e := range g.Exercises {
		status := "failed"
		if e.Status == GradePassed {
			status = "passed"
		}
		output := e.Reason
		if e.Output != "" {
			output = e.Output
		}
		res.Tests = append(res.Tests, gradescopeTest{
			Name:       e.Exercise.ID + " " + e.Exercise.Title,
			Score:      e.Score,
			MaxScore:   e.Exercise.Points,
			Status:     status,
			Output:     output,
			Visibility: "visible",
		})
	}
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing the Gradescope results: %w", err)
	}
	return nil
}

// JUnit XML, in the shape CI systems read: a suite per lesson, a case per
// exercise.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Classname string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Body    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr,omitempty"`
}

// writeJUnit writes the grade as JUnit XML.
func writeJUnit(path string, g *Grade, lessons []catalog.Lesson) error {
	doc := junitSuites{Name: "workbook grade"}
	for _, l := range lessons {
		suite := junitSuite{Name: l.Dir}
		var elapsed time.Duration
		for _, e := range g.Lesson(l.Dir) {
			c := junitCase{
				Classname: l.Dir,
				Name:      e.Exercise.ID + " " + e.Exercise.Title,
				Time:      seconds(e.Elapsed),
			}
			switch e.Status {
			case GradeFailed:
				c.Failure = &junitFailure{Message: e.Reason, Body: e.Output}
				suite.Failures++
			case GradeSkipped:
				c.Skipped = &junitSkipped{Message: e.Reason}
				suite.Skipped++
			}
			elapsed += e.Elapsed
			suite.Tests++
			suite.Cases = append(suite.Cases, c)
		}
		suite.Time = seconds(elapsed)
		doc.Tests += suite.Tests
		doc.Failures += suite.Failures
		doc.Skipped += suite.Skipped
		doc.Suites = append(doc.Suites, suite)
	}
	data, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	data = append([]byte(xml.Header), append(data, '\n')...)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("writing the JUnit report: %w", err)
	}
	return nil
}

// seconds formats a duration the way JUnit wants it: "1.234".
func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
