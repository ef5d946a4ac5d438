package fetch

import (
	"sort"

	"github.com/secretexec/secretexec/ref"
)

// maxNames is AWS's limit on the names one GetParameters call may carry (a
// ValidationException above it), and so the size of every batch of names.
const maxNames = 10

// plan is one fetch: every source and reference, with the AWS requests they need
// deduplicated.
type plan struct {
	secrets   map[secretKey]*secretJob
	srcSecret []*secretJob // parallel to sources: the job of a Secret source
	refSecret []*secretJob // parallel to refs
	params    map[paramKey]*paramJob
	refParam  []*paramJob // parallel to refs
}

// secretKey identifies one GetSecretValue request: a --secret-id and every sm:// or ECS
// reference with the same key share one call.
type secretKey struct {
	id, stage, versionID, region string
}

// paramKey identifies one name in a GetParameters request: the name or ARN with its
// selector, and the region the request goes to.
type paramKey struct {
	name, region string
}

// region is where a request goes: an ARN's region, else the configured one.
func (f *Fetcher) region(arnRegion string) string {
	if arnRegion != "" {
		return arnRegion
	}
	return f.Region
}

func (f *Fetcher) newPlan(sources []Source, refs []ref.VarRef) *plan {
	p := &plan{
		secrets:   map[secretKey]*secretJob{},
		srcSecret: make([]*secretJob, len(sources)),
		refSecret: make([]*secretJob, len(refs)),
		params:    map[paramKey]*paramJob{},
		refParam:  make([]*paramJob, len(refs)),
	}
	for i, s := range sources {
		if s.Kind == Secret {
			// A malformed ARN (refused on the command line) goes to the configured region,
			// whose answer then says what is wrong with it.
			arnRegion, _ := ref.SecretIDRegion(s.SecretID)
			p.srcSecret[i] = p.secret(secretKey{id: s.SecretID, region: f.region(arnRegion)})
		}
	}
	for i, vr := range refs {
		r := vr.Ref
		switch r.Kind {
		case ref.Secret:
			stage := r.VersionStage
			if stage == "AWSCURRENT" && r.VersionID == "" {
				stage = "" // what GetSecretValue returns when given neither
			}
			p.refSecret[i] = p.secret(secretKey{id: r.ID, stage: stage, versionID: r.VersionID, region: f.region(r.Region)})
		case ref.SSM:
			k := paramKey{name: r.SSMName(), region: f.region(r.Region)}
			j := p.params[k]
			if j == nil {
				j = &paramJob{key: k}
				p.params[k] = j
			}
			p.refParam[i] = j
		}
	}
	return p
}

func (p *plan) secret(k secretKey) *secretJob {
	j := p.secrets[k]
	if j == nil {
		j = &secretJob{key: k}
		p.secrets[k] = j
	}
	return j
}

// secretJobs is every GetSecretValue request, in a fixed order.
func (p *plan) secretJobs() []*secretJob {
	jobs := make([]*secretJob, 0, len(p.secrets))
	for _, j := range p.secrets {
		jobs = append(jobs, j)
	}
	sort.Slice(jobs, func(a, b int) bool {
		ka, kb := jobs[a].key, jobs[b].key
		if ka.id != kb.id {
			return ka.id < kb.id
		}
		return ka.region+ka.stage+ka.versionID < kb.region+kb.stage+kb.versionID
	})
	return jobs
}

// batches groups the parameter names by region, sorted, at most maxNames per request.
func (p *plan) batches() [][]*paramJob {
	byRegion := map[string][]*paramJob{}
	for _, j := range p.params {
		byRegion[j.key.region] = append(byRegion[j.key.region], j)
	}
	regions := make([]string, 0, len(byRegion))
	for r := range byRegion {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	var out [][]*paramJob
	for _, r := range regions {
		jobs := byRegion[r]
		sort.Slice(jobs, func(a, b int) bool { return jobs[a].key.name < jobs[b].key.name })
		for len(jobs) > 0 {
			n := min(len(jobs), maxNames)
			out = append(out, jobs[:n])
			jobs = jobs[n:]
		}
	}
	return out
}

// ARNRegion returns the region named by the first ARN among the sources' secret ids, for
// configurations that give no region otherwise.
func ARNRegion(sources []Source) string {
	for _, s := range sources {
		if s.Kind == Secret {
			if r, err := ref.SecretIDRegion(s.SecretID); err == nil && r != "" {
				return r
			}
		}
	}
	return ""
}

// RefsRegion returns the region of the first reference given as an ARN, for configurations
// that give no region otherwise.
func RefsRegion(refs []ref.VarRef) string {
	for _, vr := range refs {
		if vr.Ref.Region != "" {
			return vr.Ref.Region
		}
	}
	return ""
}
