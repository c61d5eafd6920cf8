// Package kubernetes holds the manifests that run mailscout batch as a Kubernetes Indexed Job;
// its test checks that they agree with themselves and with the CLI.
package kubernetes

import (
	"bytes"
	"os"
	"regexp"
	"strconv"
	"testing"

	"sigs.k8s.io/yaml"
)

// The Job's shard count, completions and parallelism must be one N, every pod must write its
// own file and resume from it, and the index must come from the Job controller.
func TestIndexedJob(t *testing.T) {
	data, err := os.ReadFile("job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var job struct {
		Kind string `json:"kind"`
		Spec struct {
			CompletionMode string `json:"completionMode"`
			Completions    int    `json:"completions"`
			Parallelism    int    `json:"parallelism"`
			Template       struct {
				Spec struct {
					RestartPolicy string `json:"restartPolicy"`
					Containers    []struct {
						Args []string `json:"args"`
						Env  []struct {
							Name      string `json:"name"`
							ValueFrom struct {
								FieldRef struct {
									FieldPath string `json:"fieldPath"`
								} `json:"fieldRef"`
							} `json:"valueFrom"`
						} `json:"env"`
					} `json:"containers"`
				} `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	}
	found := false
	for _, doc := range bytes.Split(data, []byte("\n---\n")) {
		if err := yaml.Unmarshal(doc, &job); err != nil {
			t.Fatalf("not YAML: %v", err)
		}
		if job.Kind == "Job" {
			found = true
			break
		}
	}
	if !found {
		t.Fatal("no Job in job.yaml")
	}
	s := job.Spec
	if s.CompletionMode != "Indexed" || s.Completions < 2 || s.Parallelism != s.Completions || s.Template.Spec.RestartPolicy != "Never" {
		t.Fatalf("job spec %+v", s)
	}
	c := s.Template.Spec.Containers[0]
	if len(c.Env) == 0 || c.Env[0].Name != "INDEX" || c.Env[0].ValueFrom.FieldRef.FieldPath != "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
		t.Errorf("the index does not come from the Job controller: %+v", c.Env)
	}
	var shard, output, resume bool
	for _, a := range c.Args {
		if m := regexp.MustCompile(`^--shard=\$\(INDEX\)/(\d+)$`).FindStringSubmatch(a); m != nil {
			n, _ := strconv.Atoi(m[1])
			shard = n == s.Completions
		}
		output = output || regexp.MustCompile(`^--output=\S*\$\(INDEX\)\S*$`).MatchString(a)
		resume = resume || a == "--resume"
	}
	if c.Args[0] != "batch" || !shard || !output || !resume {
		t.Errorf("args %q: want batch --shard=$(INDEX)/%d, an --output per index, --resume", c.Args, s.Completions)
	}
}
