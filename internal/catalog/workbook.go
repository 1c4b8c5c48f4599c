package catalog

// Workbook is the book as it ships: every lesson, every exercise, every point.
// Change a title here and the lesson text's heading must change with it;
// `go run ./cmd/workbook verify` says so if it does not.
var Workbook = Book{
	{
		Number: 1,
		Dir:    "01-polling",
		Title:  "HTTP polling",
		Exercises: []Exercise{
			{ID: "1.1", Title: "An append-only message log", Points: 10},
			{ID: "1.2", Title: "Waiting for the next message", Points: 15},
			{ID: "1.3", Title: "The short-polling API", Points: 20},
			{ID: "1.4", Title: "The long-polling endpoint", Points: 20},
			{ID: "1.5", Title: "A short-polling client", Points: 15},
			{ID: "1.6", Title: "A long-polling client", Points: 20},
		},
	},
}
